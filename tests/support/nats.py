"""A real nats-server with JetStream for tests: its own port and storage, stoppable and restartable.

The suite runs one server per session (`nats` in tests/conftest.py), emptied of every stream before
each test; a test that stops or kills NATS takes `own_nats`, a server of its own.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nats as nats_client

from zhengban.nats_server import nats_command
from zhengban.ports import free_port


class NatsServer:
    def __init__(self, store_dir: Path, port: int | None = None):
        self.store_dir = store_dir
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.process = subprocess.Popen(nats_command(self.port, self.store_dir), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self.running:
            self.process.terminate()
            self.process.wait(10)

    def delete_streams(self) -> list[str]:
        """Deletes every JetStream stream, and with them their consumers, messages and duplicate
        windows: the next test starts as on a fresh server. Returns the names deleted.

        Runs on a thread of its own, like drop_databases_named: a sync fixture may be called while
        another event loop runs in this thread."""

        async def delete() -> list[str]:
            nc = await nats_client.connect(self.url, connect_timeout=5, max_reconnect_attempts=0)
            try:
                jsm = nc.jsm()
                names = [info.config.name for info in await jsm.streams_info()]
                for name in names:
                    await jsm.delete_stream(name)
                return names
            finally:
                await nc.close()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, delete()).result()
