"""Runs child processes and starts again any that dies, with backoff."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from dataclasses import dataclass, field

log = logging.getLogger("zhengban.supervisor")


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: str | None = None
    pass_fds: tuple[int, ...] = ()  # descriptors the child inherits (its listening socket)
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    _stopping: bool = field(default=False, repr=False)

    async def start(self) -> None:
        out = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - owned by the child
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, env={**os.environ, **self.env}, stdout=out or asyncio.subprocess.DEVNULL,
            stderr=out or asyncio.subprocess.DEVNULL, start_new_session=True, pass_fds=self.pass_fds)
        if out:
            out.close()

    async def keep_running(self) -> None:
        """Starts the child and starts it again whenever it exits, until `stop`."""
        delay = 0.5
        while not self._stopping:
            started = time.monotonic()
            await self.start()
            code = await self.process.wait()
            if self._stopping:
                return
            if time.monotonic() - started > 30:
                delay = 0.5  # it ran a good while: this is a fresh failure, not a crash loop
            log.warning("%s exited with %s; starting it again in %.1f s", self.name, code, delay)
            print(f"  ! {self.name} exited ({code}); restarting in {delay:.1f} s", flush=True)
            self.restarts += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)

    def signal(self, sig: int) -> None:
        if self.process and self.process.returncode is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass

    async def stop(self, timeout: float = 10) -> None:
        self._stopping = True
        if not self.process or self.process.returncode is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            await self.process.wait()


class Supervisor:
    def __init__(self):
        self.children: dict[str, Child] = {}
        self._tasks: list[asyncio.Task] = []

    def add(self, child: Child) -> None:
        self.children[child.name] = child
        self._tasks.append(asyncio.create_task(child.keep_running(), name=f"supervise-{child.name}"))

    async def stop(self, waves: list[list[str]] | None = None) -> None:
        """Stops the children wave by wave (all of one wave at once)."""
        for wave in waves or [list(self.children)]:
            await asyncio.gather(*(self.children[name].stop() for name in wave))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
