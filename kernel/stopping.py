"""Stopping a process's background tasks, even when a library swallows the cancel.

nats-py catches CancelledError inside its flush (`Client._flush_pending`): a cancel that lands there
is lost, and a loop around a publish or a fetch runs on, so waiting for it would wait forever (a
shutdown that never ends). The tasks are cancelled, waited for a little, cancelled again; and each
loop of ours ends itself at its next round once it has been asked to stop (`stop_if_asked`), so a
single cancel is enough even when it lands inside nats-py: the one the test runner's event loop sends
when it closes, say, which waits for the task with no time limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger("zhengban.stopping")


async def cancel_and_wait(tasks: Iterable[asyncio.Task], *, attempts: int = 3, wait_seconds: float = 2) -> None:
    """Cancels `tasks` and waits until they are done, cancelling the ones still running again every
    `wait_seconds`; after `attempts` rounds it logs the ones left and returns."""
    stuck = {task for task in tasks if not task.done()}
    for _ in range(attempts):
        if not stuck:
            return
        for task in stuck:
            task.cancel()
        _, stuck = await asyncio.wait(stuck, timeout=wait_seconds)
    if stuck:
        log.warning("background tasks did not stop: %s", sorted(task.get_name() for task in stuck))


def stop_if_asked() -> None:
    """Raises CancelledError in a task whose cancel was swallowed: call it at the top of each round of
    a loop that runs for the process's lifetime. A swallowed cancel leaves its mark on the task
    (`Task.cancelling()` counts the requests nobody took back), so the loop sees it even though the
    CancelledError itself never reached it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
