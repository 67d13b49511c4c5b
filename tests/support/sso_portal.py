"""A local stand-in for the AWS SSO portal's GetRoleCredentials (moto has none), speaking
its real wire format: GET /federation/credentials?role_name=..&account_id=.. with the
x-amz-sso_bearer_token header, answered with {"roleCredentials": {...}}.

Prints the port on the first line, serves until stdin closes. Each call gets fresh keys
valid for an hour."""

import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Portal(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        if not self.path.startswith("/federation/credentials") or not self.headers.get("x-amz-sso_bearer_token"):
            self.send_response(401)
            self.end_headers()
            return
        suffix = uuid.uuid4().hex[:12].upper()
        body = json.dumps({
            "roleCredentials": {
                "accessKeyId": "ASIASSOEXAMPLE" + suffix[:6],
                "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "sessionToken": "EXAMPLE+sso/session=" + suffix,
                "expiration": int((time.time() + 3600) * 1000),
            }
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Portal)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
sys.stdin.read()
os._exit(0)
