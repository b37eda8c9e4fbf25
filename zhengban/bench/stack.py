"""A `zhengban up` for the benchmarks: its own data dir and, on PostgreSQL, its own databases."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from zhengban.ports import free_port
from zhengban.processes import PROCESSES

ADMIN_PASSWORD = "Bench-admin-2026"  # meets the password rules: the bench makes its users with it


class BenchStack:
    def __init__(self, postgres_url: str | None, replicas: int = 1):
        self.postgres_url = postgres_url
        self.replicas = replicas  # processes per service (`zhengban up --replicas`)
        self.prefix = f"zbbench_{uuid.uuid4().hex[:8]}"
        self.data_dir = Path(tempfile.mkdtemp(prefix="zhengban-bench-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.side_gateways: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [sys.executable, "-m", "zhengban", "up", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        if self.postgres_url:
            args += ["--database-url", self.postgres_url]
        if self.replicas > 1:
            args += ["--replicas", str(self.replicas)]
        # Logs stay at the default level (INFO): the figures are those of the product as it runs.
        env = {**os.environ, "ZHENGBAN_ADMIN_PASSWORD": ADMIN_PASSWORD, "ZHENGBAN_DATABASE_PREFIX": self.prefix,
               # The benchmark's few callers send far more than a person or script would.
               "ZHENGBAN_GATEWAY_RATE_PER_SECOND": "1000000", "ZHENGBAN_GATEWAY_RATE_BURST": "1000000",
               "ZHENGBAN_GATEWAY_MAX_BODY_BYTES": "4194304"}
        self.process = subprocess.Popen(args, stdout=open(self.data_dir / "up.out", "wb"),  # noqa: SIM115
                                        stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.data_dir / "up.out").read_text()[-3000:])
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError("the stack was not ready in 180 s")

    def children(self) -> dict[str, int]:
        """name → pid (`gateway`, `budget`, …, `nats`) of the running processes; with replicas,
        `licenses-1`, `licenses-2`, … in the order of their ports."""
        out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
        found: dict[str, list[tuple[int, int]]] = {}
        for line in out.splitlines():
            pid, ppid, args = line.strip().split(None, 2)
            if self.process and int(ppid) == self.process.pid:
                parts = args.split()
                name = parts[parts.index("serve") + 1] if "serve" in parts else "nats"
                port = int(parts[parts.index("--port") + 1]) if "--port" in parts else 0
                found.setdefault(name, []).append((port, int(pid)))
        named = {}
        for name, processes in found.items():
            for i, (_port, pid) in enumerate(sorted(processes)):
                named[name if len(processes) == 1 else f"{name}-{i + 1}"] = pid
        return named

    def pids_of(self, service: str) -> list[int]:
        """The pids of every replica of `service`."""
        return [pid for name, pid in self.children().items() if service_of(name) == service]

    def port_of(self, process: str) -> int:
        """The port of `process` (`licenses`: its first replica)."""
        children = self.children()
        return self.port_of_pid(children.get(process) or children[f"{process}-1"])

    @staticmethod
    def port_of_pid(pid: int) -> int:
        out = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True,
                             text=True).stdout.split()
        return int(out[out.index("--port") + 1])

    def side_gateway(self, **settings: str) -> str:
        """A second gateway beside the stack's, on the same databases and services, with these
        settings changed (`audit_requests="false"`): a same-run comparison of one switch. Its URL."""
        gateway = self.children()["gateway"]
        env = dict(entry.split("=", 1) for entry in
                   Path(f"/proc/{gateway}/environ").read_bytes().decode().split("\0") if "=" in entry)
        env.update({f"ZHENGBAN_GATEWAY_{key.upper()}": value for key, value in settings.items()})
        port = free_port()
        process = subprocess.Popen([sys.executable, "-m", "zhengban", "serve", "gateway", "--port", str(port)],
                                   stdout=open(self.data_dir / f"side-gateway-{port}.out", "wb"),  # noqa: SIM115
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.side_gateways.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError((self.data_dir / f"side-gateway-{port}.out").read_text()[-3000:])
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError("the side gateway was not ready in 120 s")

    def nats_url(self) -> str:
        out = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(self.children()["nats"])],
                             capture_output=True, text=True).stdout.split()
        return f"nats://127.0.0.1:{out[out.index('-p') + 1]}"

    def database_url(self, process: str) -> str:
        if self.postgres_url:
            base = self.postgres_url.rstrip("/")
            return f"{base}/{self.prefix}_{process}"
        return f"sqlite:///{self.data_dir / f'{process}.db'}"

    def rss_mb(self) -> dict[str, float]:
        sizes = {}
        for name, pid in self.children().items():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes[name] = round(int(line.split()[1]) / 1024, 1)
            except OSError:
                pass
        return sizes

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each process has used so far, by name; on PostgreSQL (with psql
        at hand) also `postgres-<pid>`: each backend serving this stack's databases (its WAL writer
        and checkpointer are not counted)."""
        used = {name: seconds for name, pid in self.children().items()
                if (seconds := process_cpu_seconds(pid)) is not None}
        if self.postgres_url and shutil.which("psql"):
            backends = subprocess.run(
                ["psql", f"{self.postgres_url.rstrip('/')}/postgres", "-Atc",
                 f"SELECT pid FROM pg_stat_activity WHERE datname LIKE '{self.prefix}%'"],
                capture_output=True, text=True, timeout=30).stdout.split()
            used.update({f"postgres-{pid}": seconds for pid in backends
                         if (seconds := process_cpu_seconds(int(pid))) is not None})
        return used

    def database_bytes(self, process: str) -> int | None:
        """The size of `process`'s PostgreSQL database on disk (None on SQLite or without psql)."""
        if not (self.postgres_url and shutil.which("psql")):
            return None
        out = subprocess.run(["psql", f"{self.postgres_url.rstrip('/')}/postgres", "-Atc",
                              f"SELECT pg_database_size('{self.prefix}_{process}')"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
        return int(out) if out.isdigit() else None

    def stop(self) -> None:
        for side in self.side_gateways:
            if side.poll() is None:
                side.send_signal(signal.SIGINT)
                try:
                    side.wait(30)
                except subprocess.TimeoutExpired:
                    side.kill()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.postgres_url:
            import asyncio

            import asyncpg

            async def drop():
                conn = await asyncpg.connect(f"{self.postgres_url.rstrip('/')}/postgres")
                try:
                    for name in PROCESSES:
                        await conn.execute(f'DROP DATABASE IF EXISTS "{self.prefix}_{name}" WITH (FORCE)')
                finally:
                    await conn.close()

            asyncio.run(drop())

    def remove(self) -> None:
        """The run's folder (its processes' logs, NATS's storage, SQLite's files), once stopped: a
        full run's logs alone are several hundred MB."""
        shutil.rmtree(self.data_dir, ignore_errors=True)


def service_of(process: str) -> str:
    """`licenses` for `licenses-2` (a replica), the name itself otherwise."""
    base, _, number = process.rpartition("-")
    return base if base and number.isdigit() else process


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) the process has used so far; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)
