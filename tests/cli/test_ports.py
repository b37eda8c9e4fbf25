"""The ports a stack's processes take (zhengban/ports.py)."""

from __future__ import annotations

import socket

from zhengban.ports import CHOSEN, free_port, listening_socket


def test_free_ports_come_from_outside_the_ephemeral_range_each_once_and_free():
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    # Below Linux's first ephemeral port (and macOS's and Windows'), where no outgoing connection
    # and no server bound to port 0 can take one.
    assert all(port in CHOSEN and port < 32_768 for port in ports)
    for port in ports[:20]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_listening_socket_accepts_before_anyone_serves_on_it():
    with listening_socket() as server:
        host, port = server.getsockname()
        assert host == "127.0.0.1" and port > 0
        # The kernel completes the connection; it waits in the backlog for the process to serve it.
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            conn, _ = server.accept()
            conn.close()
