"""`zhengban up`: NATS, migrations, the three services and the gateway, in the foreground."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from zhengban.migrate import migrate_all, process_database_urls
from zhengban.nats_server import nats_command
from zhengban.ports import free_port, listening_socket
from zhengban.processes import PROCESSES, SERVICES, env_prefix
from zhengban.supervisor import Child, Supervisor


@dataclass
class StackConfig:
    data_dir: Path
    port: int = 8000
    database_url: str | None = None
    nats_url: str | None = None
    nats_cluster: int = 1  # 3 runs a three-node cluster on loopback with streams of 3 replicas
    replicas: int = 1  # processes per service, sharing the durable consumers
    admin_password: str | None = None
    environment: str = "development"
    extra_env: dict[str, str] = field(default_factory=dict)


def internal_token(data_dir: Path) -> str:
    """One secret per data dir, shared by the gateway and the services it starts."""
    path = data_dir / "internal-token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Stack:
    """The processes of one Zhengban instance, as `zhengban up` runs them (the tests use it too)."""

    def __init__(self, config: StackConfig):
        self.config = config
        self.supervisor = Supervisor()
        self.nats_ports: list[int] = []
        self.service_sockets: dict[str, list[socket.socket]] = {}
        self.nats_url = config.nats_url

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    def service_url(self, name: str, replica: int = 0) -> str:
        return f"http://127.0.0.1:{self.service_sockets[name][replica].getsockname()[1]}"

    async def start(self) -> None:
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        logs = cfg.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        if not self.nats_url:
            self._start_nats(logs)
        urls = process_database_urls(cfg.data_dir, cfg.database_url)
        await migrate_all(urls)
        token = internal_token(cfg.data_dir)
        common = {"ENVIRONMENT": cfg.environment, "NATS_URL": self.nats_url, "DATA_DIR": str(cfg.data_dir),
                  "GATEWAY_URL": self.gateway_url, "INTERNAL_TOKEN": token,
                  "NATS_STREAM_REPLICAS": "3" if cfg.nats_cluster >= 3 else "1"}
        # Each replica of a service serves on a socket bound here and kept for the stack's life
        # (`listening_socket`): its port cannot be taken by another process before the child binds
        # it, nor between a crash and the restart.
        for name in SERVICES:
            self.service_sockets[name] = [listening_socket() for _ in range(cfg.replicas)]
        for name in PROCESSES:
            env = {env_prefix(name) + k: v for k, v in common.items()}
            env[env_prefix(name) + "DATABASE_URL"] = urls[name]
            if name == "gateway":
                for svc in SERVICES:
                    env[f"ZHENGBAN_GATEWAY_{svc.upper()}_URL"] = ",".join(
                        self.service_url(svc, i) for i in range(cfg.replicas))
                if cfg.admin_password:
                    env["ZHENGBAN_GATEWAY_ADMIN_PASSWORD"] = cfg.admin_password
                listeners = [(cfg.port, None)]  # the gateway binds its own port, the one people use
            else:
                listeners = [(sock.getsockname()[1], sock) for sock in self.service_sockets[name]]
            env.update(cfg.extra_env)
            for i, (port, sock) in enumerate(listeners):
                child_name = name if len(listeners) == 1 else f"{name}-{i + 1}"
                argv = [sys.executable, "-m", "zhengban", "serve", name, "--port", str(port)]
                fds: tuple[int, ...] = ()
                if sock is not None:  # served on the socket `up` keeps
                    fds = (sock.fileno(),)
                    argv += ["--fd", str(sock.fileno())]
                self.supervisor.add(Child(child_name, argv, env, log_path=str(logs / f"{child_name}.log"),
                                          pass_fds=fds))

    def _start_nats(self, logs: Path) -> None:
        cfg = self.config
        count = max(1, cfg.nats_cluster)
        self.nats_ports = [free_port() for _ in range(count)]
        cluster_ports = [free_port() for _ in range(count)] if count > 1 else []
        for i, port in enumerate(self.nats_ports):
            store = cfg.data_dir / ("nats" if count == 1 else f"nats-{i + 1}")
            cluster = None
            if count > 1:
                cluster = {"name": "zhengban", "port": cluster_ports[i],
                           "routes": [f"nats://127.0.0.1:{p}" for j, p in enumerate(cluster_ports) if j != i]}
            name = "nats" if count == 1 else f"nats-{i + 1}"
            argv = nats_command(port, store, name=name, cluster=cluster)
            self.supervisor.add(Child(name, argv, {}, log_path=str(logs / f"{name}.log")))
        self.nats_url = ",".join(f"nats://127.0.0.1:{p}" for p in self.nats_ports)

    async def wait_ready(self, timeout: float = 120) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                try:
                    if (await client.get(f"{self.gateway_url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"the gateway at {self.gateway_url} was not ready within {timeout:.0f} s")
                await asyncio.sleep(0.25)

    def admin_password(self) -> str:
        if self.config.admin_password:
            return self.config.admin_password
        path = self.config.data_dir / "admin-password.txt"
        return path.read_text().strip() if path.exists() else "(set by ZHENGBAN_ADMIN_PASSWORD)"

    async def stop(self) -> None:
        # NATS last, so that the processes can still flush and close their connections.
        names = list(self.supervisor.children)
        await self.supervisor.stop([[n for n in names if not n.startswith("nats")],
                                    [n for n in names if n.startswith("nats")]])
        for sock in (sock for sockets in self.service_sockets.values() for sock in sockets):
            sock.close()


async def run_up(config: StackConfig) -> None:
    stack = Stack(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Zhengban: data in {config.data_dir.resolve()}", flush=True)
    await stack.start()
    print("  migrations done; starting nats, budget, procurement, licenses, gateway …", flush=True)
    try:
        ready = asyncio.create_task(stack.wait_ready())
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({ready, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            ready.result()
            print(f"""
  Zhengban is up:   {stack.gateway_url}
  API docs:         {stack.gateway_url}/docs
  Sign in:          username admin, password {stack.admin_password()}
  Token:            curl -s -X POST {stack.gateway_url}/auth/token -d username=admin -d password=…
  Logs:             {config.data_dir.resolve() / 'logs'}
  Stop:             Ctrl-C
""", flush=True)
            await stopped
        else:
            ready.cancel()
    finally:
        print("  stopping …", flush=True)
        await stack.stop()
        print("  stopped.", flush=True)


def default_data_dir() -> Path:
    return Path(os.environ.get("ZHENGBAN_DATA_DIR", ".data"))
