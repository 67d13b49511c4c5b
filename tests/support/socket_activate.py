"""Starts a program the way systemd's socket activation does: binds a listening Unix socket,
puts it at descriptor 3, sets LISTEN_FDS and LISTEN_PID, and executes the program in this very
process (so LISTEN_PID=self is the program's own pid).

Usage: socket_activate.py SOCKET_PATH LISTEN_PID|self LISTEN_FDS PROGRAM [ARGS...]
"""
import os
import socket
import sys

path, listen_pid, listen_fds, *argv = sys.argv[1:]
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
os.chmod(path, 0o600)
listener.listen(128)
if listener.fileno() != 3:
    os.dup2(listener.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_FDS=listen_fds)
env["LISTEN_PID"] = str(os.getpid()) if listen_pid == "self" else listen_pid
os.execve(argv[0], argv, env)
