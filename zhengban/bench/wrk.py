"""Closed-loop HTTP load from wrk, when it is installed (Debian: `apt-get install wrk`).

The bench's own Python client shares the two cores with the system under test and takes more CPU
per request than the fastest servers it measures, so it capped the baselines (a trivial proxied GET
ran 991/s from Python, 1,590/s from wrk on the same machine). wrk is C: with it, a ratio measures
the server. A Lua script sends each request with its own assignee, counts the answers by status and
prints one JSON line; latencies are wrk's, from when the request is written to its answer.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from zhengban.bench.load import Result

THREADS = 2

SCRIPT = Template("""
local method = "$method"
local headers = $headers
local threads = {}
local counter = 0
local ids, paths = {}, {}

local function lines(path)
  local t = {}
  if path ~= "" then for l in io.lines(path) do t[#t + 1] = l end end
  return t
end

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  ids = lines("$ids")
  paths = lines("$paths")
  statuses = {}
end

-- Request i goes to paths[i mod #paths] for assignee ids[i mod #ids]: requests in flight name
-- different devices, as a real load does (not ~32 requests sharing one device row and its lock),
-- and while i < #ids every (pool, assignee) pair comes at most once.
function request()
  local i = counter * $threads + tid
  counter = counter + 1
  local body = nil
  if #ids > 0 then
    body = '{"assignee_type":"device","assignee_id":"' .. ids[(i % #ids) + 1] .. '"}'
  end
  return wrk.format(method, paths[(i % #paths) + 1], headers, body)
end

function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do counts[k] = (counts[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(counts) do parts[#parts + 1] = '"' .. k .. '":' .. v end
  local e = summary.errors
  io.write(string.format('WRK-JSON {"duration_us":%.0f,"requests":%.0f,"errors":%.0f,"p50_us":%.0f,' ..
    '"p99_us":%.0f,"statuses":{%s}}\\n', summary.duration, summary.requests,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99),
    table.concat(parts, ",")))
end
""")


# `zhengban bench --generator python` turns wrk off: the same loads from the Python client, to
# cross-check that a figure is the server's and not its load generator's.
ENABLED = True


def available() -> bool:
    return ENABLED and shutil.which("wrk") is not None


@dataclass
class Load:
    """What wrk sends: `method` to each of `paths` in turn, with a device assignee from `ids`."""

    name: str
    paths: list[str]
    headers: dict[str, str]
    method: str = "GET"
    ids: list[str] = field(default_factory=list)
    expected: tuple[int, ...] = (200,)


def lua_table(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()) + "}"


async def run(base_url: str, load: Load, *, connections: int, seconds: float) -> Result:
    """One closed-loop run of `load` against `base_url` with `connections` connections."""
    with tempfile.TemporaryDirectory(prefix="zhengban-wrk-") as tmp:
        folder = Path(tmp)
        (folder / "ids").write_text("\n".join(load.ids))
        (folder / "paths").write_text("\n".join(load.paths))
        headers = {**load.headers, **({"Content-Type": "application/json"} if load.ids else {})}
        (folder / "load.lua").write_text(SCRIPT.substitute(
            method=load.method, headers=lua_table(headers), ids=str(folder / "ids") if load.ids else "",
            paths=str(folder / "paths"), threads=min(THREADS, connections)))
        process = await asyncio.create_subprocess_exec(
            "wrk", f"-t{min(THREADS, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--timeout", "30s", "-s", str(folder / "load.lua"), base_url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
    line = next((x for x in out.decode().splitlines() if x.startswith("WRK-JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {out.decode()[-2000:]} {err.decode()[-2000:]}")
    figures = json.loads(line.removeprefix("WRK-JSON "))
    statuses = {int(k): int(v) for k, v in figures["statuses"].items()}
    return Result(load.name, requests=sum(statuses.values()), errors=int(figures["errors"]),
                  seconds=figures["duration_us"] / 1e6, statuses=statuses, expected=load.expected,
                  generator="wrk", p50_ms=figures["p50_us"] / 1000, p99_ms=figures["p99_us"] / 1000)
