"""Schemathesis' own run over a seeded installation: its examples, coverage, fuzzing and stateful
phases, through the gateway's merged OpenAPI document (whose links let the stateful phase follow a
line from its creation to its approval, a pool to its allocations, …), once per role.

The installation is `zhengban up` filled by the demo scenario (orgs, approved lines, a campaign
awarded, orders delivered, seats allocated), so the links start from real objects. Each role is an
API key over one of the demo's orgs. Only two checks fail the run: an answer 5xx, and an answer its
own schema contradicts.

The time is split between the roles, and each role's in two runs: examples, coverage and fuzzing,
then the stateful phase (in one run, a short budget left it nothing). In the suite it is short
(`ZHENGBAN_FUZZ_SECONDS`, default 180 per database, three roles); the longer run is `make fuzz`
(default 900 s, five roles).
The seed is printed, and with each failure the command that replays it (`ZHENGBAN_FUZZ_SEED`);
Schemathesis adds a curl command per failing case. docs/reliability.md lists what the runs found."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from zhengban.demo.scenario import Scenario

pytestmark = pytest.mark.slow

SECONDS = int(os.environ.get("ZHENGBAN_FUZZ_SECONDS", "180"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = int(os.environ.get("ZHENGBAN_FUZZ_SEED") or random.SystemRandom().randrange(2**31))
CHECKS = "not_a_server_error,response_schema_conformance"
PHASES = ("examples,coverage,fuzzing", "stateful")
# The lines of Schemathesis' report printed for each role: each phase's time, the links covered, the cases.
SUMMARY = ("(in ", "API Links:", "Scenarios:", "generated", "Seed:", "⚠️")

# (demo org, roles, share of a long run's time, share of a short one's). The root admin reaches every
# operation; the others see the same operations through their own scope and the refusals it makes.
# A short run (the suite's) keeps three roles: below about 20 s a run spends its time loading the
# document and probing the API, and generates next to nothing.
ROLES = [("root", ("admin",), 0.4, 0.5), ("finance", ("finance", "auditor"), 0.15, 0),
         ("school_1", ("budget_editor", "procurement", "it_admin"), 0.15, 0.25),
         ("centre", ("procurement", "negotiator"), 0.15, 0), ("kingsoft", ("supplier",), 0.15, 0.25)]
LONG = 600  # seconds from which a run is long

# Left out by operation id, each with its reason (each has tests of its own).
EXCLUDED = {
    # Each call adds a signing key for good.
    "rotate_signing_key_api_v1_identity_signing_keys_rotate_post",
    # The list's first key is the fuzzer's own: deleting it would leave the rest of the run a 401.
    "delete_api_key_api_v1_identity_api_keys__key_id__delete",
    # A webhook makes the gateway send events to the URL it names for a day: no calls to hosts a
    # fuzzer invents.
    "create_webhook_api_v1_identity_webhooks_post",
}


@pytest.fixture(scope="module")
def seeded(stack):
    """The demo's objects, and an API key per role over its orgs."""
    started = time.monotonic()
    scenario = Scenario(stack.url, stack.admin_password, tag="fuzz")
    scenario.run()
    print(f"\nseeded with the demo scenario in {time.monotonic() - started:.0f} s")
    admin = stack.token()
    keys = {}
    for org, roles, *_ in ROLES:
        org_id = scenario.admin.get("/api/v1/identity/me")["org_id"] if org == "root" else scenario.org_id(org)
        resp = httpx.post(f"{stack.url}/api/v1/identity/api-keys", headers=admin,
                          json={"name": f"fuzz {org}", "org_id": org_id, "roles": list(roles)})
        resp.raise_for_status()
        keys[org] = resp.json()["key"]
    return keys


def schemathesis_run(url: str, key: str, phases: str, seconds: int, workdir: Path) -> subprocess.CompletedProcess:
    excluded = [arg for operation_id in sorted(EXCLUDED) for arg in ("--exclude-operation-id", operation_id)]
    command = [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG), "run",
               f"{url}/openapi.json", "--phases", phases, "--checks", CHECKS, "--max-time", str(seconds),
               "--seed", str(SEED), "--workers", "1", "--suppress-health-check", "all", "--request-timeout", "30",
               "--header", f"Authorization: Bearer {key}", "--output-truncate", "true", *excluded]
    # In a directory of its own: Schemathesis keeps a cache of crashes in the working directory.
    workdir.mkdir(exist_ok=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=seconds * 3 + 300, cwd=workdir,
                          env={**os.environ, "NO_COLOR": "1"})


def test_schemathesis_phases_over_a_seeded_installation_find_no_5xx_and_no_answer_against_its_schema(
        stack, seeded, tmp_path):
    replay = f"ZHENGBAN_FUZZ_SEED={SEED} ZHENGBAN_FUZZ_SECONDS={SECONDS} make fuzz"
    shares = [(org, roles, long if SECONDS >= LONG else short) for org, roles, long, short in ROLES]
    shares = [(org, roles, share) for org, roles, share in shares if share]
    print(f"\nfuzz seed {SEED}, {SECONDS} s over {len(shares)} roles (replay: {replay})")
    failed = []
    for org, roles, share in shares:
        # Half of the role's time each: in one run, the phases before it would leave the stateful
        # phase nothing of a short budget.
        for phases in PHASES:
            seconds = max(int(SECONDS * share / len(PHASES)), 10)
            started = time.monotonic()
            done = schemathesis_run(stack.url, seeded[org], phases, seconds, tmp_path / org)
            summary = [line for line in done.stdout.splitlines()
                       if any(word in line for word in SUMMARY) and "Operations:" not in line]
            print(f"--- {org} ({'+'.join(roles)}), {phases}: exit {done.returncode}, "
                  f"{time.monotonic() - started:.0f} s")
            print("\n".join(summary))
            if done.returncode != 0:
                failed.append(f"=== as {org} ({'+'.join(roles)}), {phases}, seed {SEED}: replay with {replay}\n"
                              f"{done.stdout[-20000:]}\n{done.stderr[-3000:]}")
    assert not failed, "\n\n".join(failed)
