"""Checks that every service's figures agree after the whole flow (the guarantees, end to end)."""

from __future__ import annotations

from collections import defaultdict

from zhengban.demo.client import wait_until
from zhengban.demo.scenario import Scenario

TERMINAL_FOR_THE_SYSTEM = {"confirmed", "rejected", "cancelled", "delivered"}  # nothing waits on an event


def settled_orders(scenario: Scenario, timeout: float = 120) -> list[dict]:
    """Every order of the scenario, once none waits for the budget any more."""
    admin = scenario.admin

    def settled():
        orders = [admin.get(f"/api/v1/procurement/orders/{o['id']}") for o in scenario.made.orders.values()]
        return orders if all(o["status"] in TERMINAL_FOR_THE_SYSTEM for o in orders) else None

    return wait_until(settled, timeout=timeout, what="every order settled")


def reconcile(scenario: Scenario, timeout: float = 120) -> dict:
    """Waits for the flow to settle, then asserts every figure reconciles; returns the figures."""
    admin = scenario.admin
    orders = settled_orders(scenario, timeout)
    reserved, spent, delivered = defaultdict(int), defaultdict(int), defaultdict(int)
    for order in orders:
        if order["status"] == "confirmed":
            reserved[order["budget_line_id"]] += order["amount_fen"]
        if order["status"] == "delivered":
            spent[order["budget_line_id"]] += order["amount_fen"]
            delivered[order["org_id"]] += order["quantity"]

    def budgets_agree():
        for unit in scenario.made.orgs.values():
            if not unit.line_id:
                continue
            line = admin.get(f"/api/v1/budget/lines/{unit.line_id}")
            if (line["reserved_fen"], line["spent_fen"]) != (reserved[unit.line_id], spent[unit.line_id]):
                return None
        return True

    # Spending follows the delivery event, so it may trail the order's status by a moment.
    wait_until(budgets_agree, timeout=timeout, what="budget lines agreeing with the orders")
    lines = {}
    for unit in scenario.made.orgs.values():
        if unit.line_id:
            line = admin.get(f"/api/v1/budget/lines/{unit.line_id}")
            entries = admin.all(f"/api/v1/budget/lines/{unit.line_id}/entries")
            sums = defaultdict(int)
            for entry in entries:
                sums[entry["kind"]] += entry["amount_fen"]
            # The line's figures are its ledger's sums, and nothing was applied twice.
            assert line["approved_fen"] == sums["approve"]
            assert line["reserved_fen"] == sums["reserve"] + sums["release"]
            assert line["spent_fen"] == sums["spend"]
            assert line["pre_encumbered_fen"] == sums["preencumber"] + sums["release_preencumbrance"]
            assert line["available_fen"] >= 0
            keys = [(e["kind"], e["ref_id"]) for e in entries if e["ref_id"]]
            assert len(keys) == len(set(keys)), f"an effect applied twice on line {unit.line_id}"
            lines[unit.key] = line

    def pools_agree():
        # The pools the deliveries filled: a catalogue product's. The scenario's manual entitlements (a unit's
        # earlier purchases, named by title) have pools of their own, with no product.
        pools = {p["org_id"]: p for p in admin.all("/api/v1/licenses/pools", category="office") if p["product_id"]}
        return pools if all(pools.get(org, {}).get("total") == n for org, n in delivered.items()) else None

    pools = wait_until(pools_agree, timeout=timeout, what="pools agreeing with the deliveries")
    for org, quantity in delivered.items():
        entitlements = admin.all("/api/v1/licenses/entitlements", pool_id=pools[org]["id"])
        assert sum(e["quantity"] for e in entitlements if e["status"] == "active") == quantity
        assert len({e["reference"] for e in entitlements}) == len(entitlements)  # one per order
        assert 0 <= pools[org]["allocated"] <= pools[org]["total"]
    statuses = defaultdict(int)
    for order in orders:
        statuses[order["status"]] += 1
    return {"orders": len(orders), "statuses": dict(statuses), "lines": len(lines), "pools": len(delivered)}


def everything(scenario: Scenario) -> dict:
    """Every figure the flow leaves behind, in full: each order's status, each line's figures and
    ledger, each pool's seats and entitlements. Two calls agree only if nothing changed at all."""
    admin = scenario.admin
    orders = {o["id"]: (o["status"], o["quantity"], o["amount_fen"]) for o in admin.all("/api/v1/procurement/orders")}
    lines, pools = {}, {}
    for unit in scenario.made.orgs.values():
        if unit.line_id:
            line = admin.get(f"/api/v1/budget/lines/{unit.line_id}")
            ledger = sorted((e["kind"], e["amount_fen"], e["ref_id"] or "")
                            for e in admin.all(f"/api/v1/budget/lines/{unit.line_id}/entries"))
            lines[unit.line_id] = ({k: v for k, v in line.items() if k.endswith("_fen")}, ledger)
    for pool in admin.all("/api/v1/licenses/pools"):
        entitlements = sorted((e["quantity"], e["status"], e["reference"] or "")
                              for e in admin.all("/api/v1/licenses/entitlements", pool_id=pool["id"]))
        pools[pool["id"]] = (pool["total"], pool["allocated"], entitlements)
    return {"orders": orders, "lines": lines, "pools": pools}
