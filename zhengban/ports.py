"""Ports for the processes a stack starts on this machine: chosen ahead (`free_port`) or bound
and handed to the child (`listening_socket`)."""

from __future__ import annotations

import random
import socket

# `free_port` chooses below every common system's range of ephemeral ports (Linux 32768–60999,
# macOS and Windows 49152–65535). There the kernel takes the local port of each outgoing
# connection and the port of each server bound to port 0, any process's: the port used to come
# from that range (a bind to port 0, closed again), and between the moment it was handed out and
# the moment the child bound it, another process's socket could take it. The child then could
# not bind, and the stack's gateway sent its requests to whatever listened there.
CHOSEN = range(20_000, 32_768)
_random = random.SystemRandom()  # not the `random` module's: a test may seed that one
_handed_out: set[int] = set()


def free_port() -> int:
    """A port of `CHOSEN` free on 127.0.0.1 now, not handed out before by this process."""
    for _ in range(1_000):
        port = _random.choice(CHOSEN)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # in use, or still closing
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port on 127.0.0.1 between {CHOSEN.start} and {CHOSEN.stop - 1}")


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a port the kernel chose and listening, for a child process to serve on
    (`zhengban serve --fd`): the port is held from the moment it is chosen, and while the child
    is started again after a crash, callers wait in the backlog instead of being refused."""
    sock = socket.socket()
    sock.bind((host, 0))
    sock.listen(2048)  # uvicorn's backlog
    return sock
