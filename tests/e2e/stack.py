"""`zhengban up` as a user runs it: a real process tree on loopback, driven over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from zhengban.nats_server import free_port


class RunningStack:
    def __init__(self, data_dir: Path, *, admin_password: str = "e2e-admin-password", extra_args=(), env=None):
        self.data_dir = data_dir
        self.port = free_port()
        self.admin_password = admin_password
        self.extra_args = list(extra_args)
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.output = data_dir / "up.out"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> float:
        """Starts `zhengban up` and returns the seconds until the gateway's /readyz answered 200."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "ZHENGBAN_ADMIN_PASSWORD": self.admin_password, **self.env}
        started = time.monotonic()
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "zhengban", "up", "--data-dir", str(self.data_dir), "--port", str(self.port),
                 *self.extra_args], stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"zhengban up exited: {self.output.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"not ready in {timeout} s: {self.output.read_text()[-3000:]}")

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                return self.process.wait()
        return self.process.returncode if self.process else 0

    def token(self, username: str = "admin", password: str | None = None) -> dict[str, str]:
        resp = httpx.post(f"{self.url}/auth/token", data={"username": username,
                                                          "password": password or self.admin_password})
        resp.raise_for_status()
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}
