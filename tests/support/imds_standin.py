"""A stand-in for what answers at the instance-metadata address on machines that are not an
EC2 instance with a role (point AWS_EC2_METADATA_SERVICE_ENDPOINT at it):

- forbidden: 403 to everything, as corporate proxies and disabled IMDS answer;
- not-found: 404 to everything, as another cloud's metadata service answers;
- no-role: a session token, then 404 for the role list, as an EC2 instance without a role;
- silent: accepts the connection and never answers (the client's timeout decides).

Every request is appended to the file named by IMDS_LOG, if set ("PUT /latest/api/token").

Usage: python imds_standin.py MODE. Prints its port, serves until stdin closes."""

import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
LOG = os.environ.get("IMDS_LOG")


class Metadata(BaseHTTPRequestHandler):
    def do_PUT(self):
        self._answer()

    def do_GET(self):
        self._answer()

    def _answer(self):
        if LOG:
            with open(LOG, "a") as log:
                log.write(f"{self.command} {self.path}\n")
        if MODE == "silent":
            time.sleep(3600)
            return
        if MODE == "forbidden":
            self._send(403, b"")
        elif MODE == "not-found":
            self._send(404, b"<html><body>Not Found</body></html>")
        elif MODE == "no-role" and self.command == "PUT" and self.path == "/latest/api/token":
            self._send(200, b"AQAEAEXAMPLETOKEN==", {"x-aws-ec2-metadata-token-ttl-seconds": "21600"})
        elif MODE == "no-role":
            self._send(404, b"")
        else:
            raise SystemExit(f"unknown mode {MODE}")

    def _send(self, status, body, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Metadata)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
sys.stdin.read()
os._exit(0)
