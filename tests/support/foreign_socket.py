"""A socket served by another user (uid 65534), for the trust tests. Needs root.

    foreign_socket.py squat PATH   as uid 65534: creates PATH's directory (0700) and serves
                                   PATH there, as a user who got to a shared temp dir first
    foreign_socket.py peer PATH    binds PATH in an existing directory as root, then serves it
                                   as uid 65534: a private directory, but a foreign process

Answers every connection with a well-formed token body (a forged token) and prints
`connection BYTES` per connection, BYTES being what the client sent. Prints `ready` once
listening; exits when stdin closes.
"""

import json
import os
import select
import socket
import sys

NOBODY = 65534
mode, path = sys.argv[1], sys.argv[2]

if mode == "squat":
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
if mode == "peer":
    # The kernel records the listener's credentials at listen(): those of uid 65534.
    os.setgid(NOBODY)
    os.setuid(NOBODY)
server.listen(16)
print("ready", flush=True)

body = json.dumps({
    "token": "bedrock-api-key-FORGED",
    "region": "us-east-1",
    "profile": "default",
    "issued_at": "2026-01-01T00:00:00Z",
    "expires_at": "2036-01-01T00:00:00Z",
    "credential_expires_at": None,
    "ttl_seconds": 43200,
}).encode()


def serve(conn):
    conn.settimeout(2)
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    conn.close()
    print(f"connection {len(received)}", flush=True)


# One connection at a time, until stdin closes; then those already queued are still served
# and counted, so a client that connected just before the end is never missed.
while True:
    readable, _, _ = select.select([server, sys.stdin], [], [])
    if server in readable:
        serve(server.accept()[0])
    elif not sys.stdin.readline():
        break
while select.select([server], [], [], 0)[0]:
    serve(server.accept()[0])
os._exit(0)
