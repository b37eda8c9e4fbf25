"""`zhengban up` as a user runs it: a real process tree on loopback, driven over real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from tests.support.databases import TEST_DATABASE_URL, drop_databases_named
from zhengban.ports import free_port
from zhengban.processes import PROCESSES, env_prefix

# The gateway's limits lifted, for tests that send many requests or sign in many times from one
# address (the matrix, the fuzzer, the browser tests); the limits themselves have their own tests.
UNLIMITED = {"ZHENGBAN_GATEWAY_RATE_PER_SECOND": "100000", "ZHENGBAN_GATEWAY_RATE_BURST": "100000",
             "ZHENGBAN_GATEWAY_FAILED_SIGN_INS_PER_ADDRESS": "100000 per 15 minutes"}

# Events a killed process took and never acknowledged come again after this many seconds, not the
# default 30: the crash tests wait for that redelivery (kernel/settings.py, event_ack_wait_seconds).
QUICK_REDELIVERY = {f"{env_prefix(process)}EVENT_ACK_WAIT_SECONDS": "8" for process in PROCESSES}


class RunningStack:
    """`zhengban up` in a subprocess. With ZHENGBAN_TEST_DATABASE_URL set (the PostgreSQL run of the
    suite) its processes use databases of their own on that server, dropped by `close()`."""

    def __init__(self, data_dir: Path, *, admin_password: str = "e2e-admin-password", extra_args=(), env=None):
        self.data_dir = data_dir
        self.port = free_port()
        self.admin_password = admin_password
        self.extra_args = list(extra_args)
        self.env = {**QUICK_REDELIVERY, **(env or {})}
        self.process: subprocess.Popen | None = None
        self.output = data_dir / "up.out"
        self.database_prefix = None
        if TEST_DATABASE_URL and "--database-url" not in self.extra_args:
            self.database_prefix = f"zbe2e_{uuid.uuid4().hex[:8]}"
            self.extra_args += ["--database-url", TEST_DATABASE_URL]
            self.env = {**self.env, "ZHENGBAN_DATABASE_PREFIX": self.database_prefix}

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

    def close(self) -> None:
        """Stops the stack for good and drops its PostgreSQL databases, if it had any."""
        self.stop()
        if self.database_prefix:
            drop_databases_named([f"{self.database_prefix}_{name}" for name in PROCESSES])

    def children(self) -> list[tuple[int, str]]:
        """(pid, command line) of each process `zhengban up` runs now."""
        out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
        found = []
        for line in out.splitlines():
            pid, ppid, args = line.strip().split(None, 2)
            if self.process and int(ppid) == self.process.pid:
                found.append((int(pid), args))
        return found

    def pids(self, match: str) -> list[int]:
        return [pid for pid, args in self.children() if match in args]

    def kill(self, match: str, sig: int = signal.SIGKILL, *, first_only: bool = True) -> list[int]:
        """Kills the children whose command line contains `match` (the first one only, by default)."""
        pids = self.pids(match)[:1] if first_only else self.pids(match)
        assert pids, f"no child matching {match!r}: {self.children()}"
        for pid in pids:
            os.kill(pid, sig)
        return pids

    def wait_replaced(self, match: str, old: list[int], timeout: float = 60) -> None:
        """Waits until the supervisor has started new processes for the killed ones and all is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.pids(match)
            if len([p for p in now if p not in old]) >= len(old) and self.ready():
                return
            time.sleep(0.2)
        raise TimeoutError(f"{match} was not restarted within {timeout} s: {self.children()}")

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def service_urls(self, service: str) -> list[str]:
        """The direct URLs of a service's replicas (for /metrics, which the gateway does not route)."""
        urls = []
        for _, args in self.children():
            parts = args.split()
            if f"serve {service} --port" in args:
                urls.append(f"http://127.0.0.1:{parts[parts.index('--port') + 1]}")
        return urls

    def consumed(self, service: str) -> dict[str, float]:
        """Events consumed by a service's replicas, by outcome (applied, duplicate, retry, parked)."""
        totals: dict[str, float] = {}
        for url in self.service_urls(service):
            try:
                text = httpx.get(f"{url}/metrics", timeout=5).text
            except httpx.ConnectError as exc:
                raise AssertionError(f"{url} refused: {self.children()}") from exc
            for line in text.splitlines():
                if line.startswith("zhengban_events_consumed_total{"):
                    outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
                    totals[outcome] = totals.get(outcome, 0) + float(line.rsplit(" ", 1)[1])
        return totals


@contextlib.contextmanager
def started(data_dir: Path, **kwargs):
    """A RunningStack started, and closed (its databases dropped) when the block ends."""
    running = RunningStack(data_dir, **kwargs)
    running.start()
    try:
        yield running
    finally:
        running.close()
