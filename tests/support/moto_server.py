"""Starts moto (the AWS emulator) on 127.0.0.1 with a kernel-chosen port for one test.

Prints the port on the first line of stdout, then serves until stdin closes: when the test
process exits, however it exits, its end of the pipe closes and moto goes with it.
"""

import os
import sys
import threading

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.server import ThreadedMotoServer  # noqa: E402

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server._server.server_port, flush=True)  # noqa: SLF001 (moto exposes no getter)
sys.stdin.read()
server.stop()
os._exit(0)
