"""`zhengban demo`: fills a running instance, through the public API, with a realistic scenario."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from zhengban.demo.scenario import PASSWORD, Scenario

LABELS = {
    "create_orgs": "组织机构 orgs", "approve_budgets": "预算编制与审批 budgets",
    "run_campaign": "联合采购：需求、报价、两轮谈判、评审、授标 campaign",
    "place_orders": "下单 call-off orders", "wait_for_budget_answers": "预算冻结 budget answers",
    "cancel_and_deliver": "撤单与交付 cancel & deliver", "wait_for_seats": "授权入池 seats arrive",
    "register_devices_and_allocate": "登记设备、分配席位 devices & seats",
    "control_figure": "二上二下：控制数 control figure", "budget_transfer": "预算调剂 budget transfer",
    "second_office_seat": "一机一套办公软件 second office seat", "compliance": "正版化检查 compliance",
    "done": "完成 done",
}


def progress_bar(step: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    sys.stdout.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {LABELS.get(step, step):<48}")
    sys.stdout.flush()
    if done == total:
        sys.stdout.write("\n")


def gateway_problem(gateway_url: str) -> str | None:
    """What keeps the demo from running against `gateway_url`, in one sentence with what to run;
    None when the gateway is up and ready. Asked once, quickly, instead of retrying for a minute."""
    import httpx

    try:
        resp = httpx.get(f"{gateway_url.rstrip('/')}/readyz", timeout=5)
    except httpx.HTTPError as exc:
        return (f"no gateway answers at {gateway_url} ({type(exc).__name__}); start one with `make up` "
                "(or `zhengban up`) and run this again, or pass --gateway-url")
    if resp.status_code == 200:
        return None
    try:
        down = [name for name, ok in resp.json().get("checks", {}).items() if not ok]
    except ValueError:
        return f"{gateway_url} answered /readyz with {resp.status_code}; is it a Zhengban gateway? check --gateway-url"
    if "database" in down:
        return (f"the gateway at {gateway_url} cannot reach its database; check that PostgreSQL is running "
                "(or the --database-url given to `zhengban up`), then run this again")
    return (f"the gateway at {gateway_url} is not ready yet ({', '.join(down) or 'starting'} not reachable); "
            "wait for `make up` to print the URL (or look at its log), then run this again")


def admin_password(data_dir: Path, given: str | None) -> str:
    if given:
        return given
    path = data_dir / "admin-password.txt"
    if path.exists():
        return path.read_text().strip()
    sys.exit(f"zhengban demo: no --admin-password and no {path}; is `make up` running with this data dir?")


def run_demo(gateway_url: str, password: str, *, quiet: bool = False) -> Scenario:
    started = time.monotonic()
    scenario = Scenario(gateway_url, password, progress=(lambda *a: None) if quiet else progress_bar)
    report = scenario.run()
    if not quiet:
        print_summary(scenario, report, gateway_url, time.monotonic() - started)
    return scenario


def print_summary(scenario: Scenario, report: dict, url: str, seconds: float) -> None:
    made = scenario.made
    statuses: dict[str, int] = {}
    for order in made.orders.values():
        statuses[order["status"]] = statuses.get(order["status"], 0) + 1
    office = report["office"]
    unlicensed = ", ".join(d["asset_tag"] for d in office["devices_without_license"])
    control, transfer, seat = made.control, made.transfer, made.second_seat
    control_outcome = (f"{control['title']}: requested {control['requested_fen']} fen, control figure "
                       f"{control['control_fen']} fen (line back to {control['status_after_control']}),\n"
                       f"                  resubmitted {control['resubmitted_fen']} fen, "
                       f"{control['status']} {control['approved_fen']} fen")
    # 省实验中学's computers, reported by raw names: what the report says of each title there.
    titles = scenario.admin.get("/api/v1/licenses/compliance", params={"org_id": made.inspection["org_id"]})["titles"]
    inspection = ", ".join(f"{t['name']} {t['genuine']}/{t['non_genuine']}" for t in titles) + " (genuine/non-genuine)"
    registers = ", ".join(f"{made.orgs[key].name} {counts['created']} created" for key, counts in made.imports.items())
    oversight = made.oversight
    oversight_outcome = ", ".join(f"{r['device']} {r['status']}" for r in oversight["install_requests"])
    reports_outcome = ", ".join(f"{org} {status}{' (late)' if late else ''}"
                                for org, (status, late) in oversight["reports"].items())
    seat_outcome = (f"a second office suite on {seat['device']} refused: {seat['status']} "
                    f"{seat['type'].rsplit('/', 1)[-1]}")
    print(f"""
  Made in {seconds:.0f} s (run tag {made.tag}):
    orgs          {len(made.orgs)}: a province (财政厅, 教育厅, two schools, 卫健委), a SASAC with an SOE group
                  and its second- and third-level enterprises, a procurement centre, two suppliers
    budget lines  {len([o for o in made.orgs.values() if o.line_id])} approved (office software, at the 600 元 cap)
    campaign      {url}/api/v1/procurement/campaigns/{made.campaign_id}  (two rounds, a panel of three)
    agreement     {url}/api/v1/procurement/agreements/{made.agreement_id}
    orders        {", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))}
    devices       {len(made.devices)}, compliance of 省财政厅's subtree: office {office['genuine']} genuine,
                  {office['non_genuine']} non-genuine ({unlicensed});
                  the schools' asset registers imported from Excel: {registers}
    二上二下       {control_outcome}
    调剂 transfer  {transfer['amount_fen']} fen from the OA line to the database line: {transfer['status']}
                  (requested by {transfer['requested_by']}, decided by {transfer['decided_by']})
    second seat   {seat_outcome}
    核查 by name   {inspection}
    oversight     install requests {oversight_outcome}
                  annual reports {reports_outcome}

  Sign in (console {url}/console/ or POST {url}/auth/token) as any of these, password {PASSWORD}:""")
    for username, label in made.users.items():
        print(f"    {username:<52} {label}")
    print(f"""
  Look at:
    {url}/docs                                           the API
    {url}/api/v1/licenses/compliance.xlsx?org_id={made.orgs['finance'].id}   the inspection form
""")
