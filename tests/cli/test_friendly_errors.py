"""`zhengban demo`, `wait` and `bench` say in one line what is missing and what to run: no
traceback, no long wait."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from zhengban.ports import free_port


def run(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "zhengban", *args], capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - started


@pytest.mark.parametrize(("args", "says"), [
    (("demo", "--gateway-url", "http://127.0.0.1:{port}", "--admin-password", "x"),
     ["no gateway answers at http://127.0.0.1:", "make up"]),
    (("wait", "127.0.0.1:{port}", "--timeout", "1"), ["did not answer within 1 s", "start it"]),
    (("wait", "just-a-name"), ["neither host:port nor a URL"]),
    (("bench", "--database", "postgres", "--postgres-url", "postgresql://postgres@127.0.0.1:{port}"),
     ["no PostgreSQL answers at", "--database sqlite"]),
])
def test_a_missing_gateway_or_database_is_one_line_with_what_to_run(args, says):
    port = str(free_port())  # nothing listens there
    done, seconds = run(*(a.replace("{port}", port) for a in args))
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert all(s in lines[0] for s in says), lines[0]
    assert seconds < 20
