"""Runs a command with its stdin and stderr on a pseudo-terminal and its stdout on a pipe
(as in eval "$(cmd)" typed at a shell), answering its prompts.

Usage: python terminal.py ANSWERS_JSON COMMAND [ARGS...]
ANSWERS_JSON is a list of [prompt text, answer] pairs: each answer (and a newline) is typed
once the terminal shows its prompt text after the previous answer.
Prints one JSON object: {"code": exit code, "stdout": ..., "terminal": what the terminal showed}.
"""

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time

answers = json.loads(sys.argv[1])
master, slave = pty.openpty()


def own_terminal():
    """In the child: a session of its own with the pseudo-terminal as /dev/tty."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


child = subprocess.Popen(
    sys.argv[2:], stdin=slave, stderr=slave, stdout=subprocess.PIPE, preexec_fn=own_terminal
)
os.close(slave)
terminal, stdout, seen = b"", b"", 0
open_fds = {master, child.stdout.fileno()}
deadline = time.time() + 120
while open_fds and time.time() < deadline:
    ready, _, _ = select.select(list(open_fds), [], [], 0.5)
    for fd in ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end closed (EIO on Linux)
            chunk = b""
        if not chunk:
            open_fds.discard(fd)
        elif fd == master:
            terminal += chunk
        else:
            stdout += chunk
    if answers and answers[0][0].encode() in terminal[seen:]:
        seen = len(terminal)
        os.write(master, answers.pop(0)[1].encode() + b"\n")
    if child.poll() is not None and master in open_fds and not select.select([master], [], [], 0.2)[0]:
        open_fds.discard(master)
code = child.wait(timeout=max(1, deadline - time.time()))
print(json.dumps({
    "code": code,
    "stdout": stdout.decode(errors="replace"),
    "terminal": terminal.decode(errors="replace"),
}))
