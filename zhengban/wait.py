"""`zhengban wait`: blocks until TCP services answer, so a container starts after its dependencies."""

from __future__ import annotations

import socket
import sys
import time
from urllib.parse import urlsplit


def address_of(target: str) -> tuple[str, int]:
    """`host:port`, or a URL (`postgresql://user@db:5432/x`, `nats://nats-1:4222`)."""
    if "://" in target:
        parts = urlsplit(target)
        default = {"postgresql": 5432, "postgres": 5432, "nats": 4222, "http": 80, "https": 443}.get(parts.scheme, 0)
        return parts.hostname or "localhost", parts.port or default
    host, _, port = target.rpartition(":")
    if not host:
        raise ValueError(f"no port in {target!r}")
    return host, int(port)


def wait_for(targets: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for target in targets:
        host, port = address_of(target)
        while True:
            try:
                with socket.create_connection((host, port), timeout=2):
                    print(f"zhengban wait: {host}:{port} answers", flush=True)
                    break
            except OSError as exc:
                if time.monotonic() > deadline:
                    sys.exit(f"zhengban wait: {host}:{port} did not answer within {timeout:.0f} s ({exc}); "
                             "start it, or check the address and --timeout")
                time.sleep(1)
