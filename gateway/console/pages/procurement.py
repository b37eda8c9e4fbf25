"""Joint procurement: campaigns end to end (demand, offers, rounds, panel, award, complaints), the
supplier's sealed offer form, agreements with suspend, resume and terminate, and call-off orders.

What a reader sees is what the API answers that reader (SPEC's visibility table): a list the API
refuses to this reader is simply not shown."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.api import ApiProblem, ConsoleApi, listed
from gateway.console.forms import BadInput, fen, whole
from gateway.console.names import named
from gateway.console.page import act, back, poster, render, viewer, words_for

router = APIRouter(prefix="/console", include_in_schema=False)
API = "/api/v1/procurement"


async def visible(api: ConsoleApi, path: str, **params) -> list[dict]:
    """A list this reader may or may not be shown (offers before they close, a panel's evaluations):
    the API's refusal means "nothing for you here", not an error page."""
    try:
        return listed(await api.get(path, limit=200, **params))[0]
    except ApiProblem as problem:
        if problem.status in (403, 404, 409):
            return []
        raise


async def in_subtree(api: ConsoleApi, org_id: str) -> bool:
    """Whether an org is in the reader's subtree (the lead's subtree reads everything of its
    campaigns; its buyers act on them)."""
    try:
        await api.get(f"/api/v1/identity/orgs/{org_id}")
    except ApiProblem:
        return False
    return True


@router.get("/campaigns")
async def campaigns(request: Request, cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page(f"{API}/campaigns", cursor=cursor)
        names = await named(api, [c["lead_org_id"] for c in found])
    return render(request, "campaigns.html", session, campaigns=found, next_cursor=next_cursor, names=names)


@router.get("/campaigns/{campaign_id}")
async def campaign(request: Request, campaign_id: uuid.UUID):
    session = viewer(request)
    me = session.me
    async with ConsoleApi(request, session) as api:
        found = await api.get(f"{API}/campaigns/{campaign_id}")
        path = f"{API}/campaigns/{campaign_id}"
        offers = await visible(api, f"{path}/offers")
        history = await visible(api, f"{path}/history")
        demands = await visible(api, f"{path}/demands")
        complaints = await visible(api, f"{path}/complaints")
        evaluations = await visible(api, f"{path}/evaluations")  # the lead's subtree and the panel only
        lead_reader = await in_subtree(api, found["lead_org_id"])
        lead = lead_reader and session.may("procurement")
        participant = me.get("org_id") in found["participant_org_ids"] and session.may("procurement", "budget_editor")
        budget_lines = []
        if participant and found["status"] == "demand_open":
            budget_lines, _ = await api.page("/api/v1/budget/lines", org_id=me["org_id"], status="approved",
                                             fiscal_year=found["fiscal_year"], limit=200)
        suppliers = await visible(api, "/api/v1/identity/orgs", kind="supplier") if lead else []
        names = await named(api, [found["lead_org_id"], found.get("awarded_supplier_org_id")],
                            found["participant_org_ids"], found["supplier_org_ids"], found["panel_member_user_ids"],
                            [o["supplier_org_id"] for o in offers], [d["org_id"] for d in demands],
                            [c["supplier_org_id"] for c in complaints], [h["actor"] for h in history],
                            [e["member_user_id"] for e in evaluations], [e["supplier_org_id"] for e in evaluations],
                            known={o["id"]: o["name"] for o in suppliers})
    invited = me.get("org_id") in found["supplier_org_ids"] and "supplier" in session.roles
    return render(request, "campaign.html", session, campaign=found, offers=offers, history=history, demands=demands,
                  complaints=complaints, evaluations=evaluations, names=names, lead=lead, lead_reader=lead_reader,
                  participant=participant, budget_lines=budget_lines, suppliers=suppliers,
                  items={i["id"]: i for i in found["items"]},
                  can_offer=invited and found["round_open"], invited=invited,
                  panelist=str(me.get("id")) in found["panel_member_user_ids"] and session.may("negotiator"))


def _campaign_body(action: str, form: dict, me: dict):
    """The API body of one campaign button, from its form."""
    if action in ("open-demand", "lock-demand", "close-offers", "rounds"):
        return None
    if action == "open-offers":
        chosen = [key.removeprefix("supplier_") for key, value in form.items() if key.startswith("supplier_") and value]
        return {"supplier_org_ids": chosen}
    if action == "offers":
        items = [{"item_id": key.removeprefix("price_"), "unit_price_fen": fen(value)}
                 for key, value in form.items() if key.startswith("price_") and str(value).strip()]
        if not items:
            raise BadInput("bad_money")
        return {"items": items}
    if action == "demands":
        return {"org_id": me["org_id"], "item_id": form.get("item_id"),
                "quantity": whole(form.get("quantity"), minimum=1), "budget_line_id": form.get("budget_line_id")}
    if action == "evaluations":
        return {"supplier_org_id": form.get("supplier_org_id"), "score": whole(form.get("score")),
                "recommend": form.get("recommend") == "on"}
    if action == "award":
        body = {"supplier_org_id": form.get("supplier_org_id")}
        if str(form.get("negotiation_reason", "")).strip():
            body["negotiation_reason"] = form["negotiation_reason"]
        return body
    if action in ("cancel", "complaints"):
        if not str(form.get("reason", "")).strip():
            raise BadInput("reason_needed")
        return {"reason": form["reason"]}
    raise KeyError(action)


CAMPAIGN_ACTIONS = ("open-demand", "lock-demand", "open-offers", "offers", "close-offers", "rounds", "demands",
                    "evaluations", "award", "cancel", "complaints")


@router.post("/campaigns/{campaign_id}/do/{action}")
async def campaign_action(request: Request, campaign_id: uuid.UUID, action: str):
    session, form = await poster(request)
    if action not in CAMPAIGN_ACTIONS:
        return HTMLResponse(status_code=404)
    return await act(request, session, form, f"/console/campaigns/{campaign_id}", "POST",
                     f"{API}/campaigns/{campaign_id}/{action}", lambda: _campaign_body(action, form, session.me))


@router.post("/campaigns/{campaign_id}/complaints/{complaint_id}/resolve")
async def resolve_complaint(request: Request, campaign_id: uuid.UUID, complaint_id: uuid.UUID):
    session, form = await poster(request)

    def body():
        if not str(form.get("resolution", "")).strip():
            raise BadInput("reason_needed")
        return {"upheld": form.get("upheld") == "yes", "resolution": form["resolution"]}

    return await act(request, session, form, f"/console/campaigns/{campaign_id}", "POST",
                     f"{API}/campaigns/{campaign_id}/complaints/{complaint_id}/resolve", body)


# --- agreements ----------------------------------------------------------------------------

@router.get("/agreements")
async def agreements(request: Request, cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page(f"{API}/agreements", cursor=cursor)
        names = await named(api, [a["supplier_org_id"] for a in found], [a["lead_org_id"] for a in found])
    return render(request, "agreements.html", session, agreements=found, next_cursor=next_cursor, names=names)


@router.get("/agreements/{agreement_id}")
async def agreement(request: Request, agreement_id: uuid.UUID):
    session = viewer(request)
    me = session.me
    async with ConsoleApi(request, session) as api:
        found = await api.get(f"{API}/agreements/{agreement_id}")
        campaign_found = await api.get(f"{API}/campaigns/{found['campaign_id']}")
        history = await visible(api, f"{API}/agreements/{agreement_id}/history")
        lead = session.may("procurement") and await in_subtree(api, found["lead_org_id"])
        buyer = me.get("org_id") in campaign_found["participant_org_ids"] and session.may("procurement")
        budget_lines = []
        if buyer and found["status"] == "active":
            budget_lines, _ = await api.page("/api/v1/budget/lines", org_id=me["org_id"], status="approved",
                                             fiscal_year=campaign_found["fiscal_year"], limit=200)
        names = await named(api, [found["supplier_org_id"], found["lead_org_id"]], [h["actor"] for h in history])
    products = {i["id"]: i["product_name"] for i in campaign_found["items"]}
    return render(request, "agreement.html", session, agreement=found, campaign=campaign_found, history=history,
                  names=names, products=products, lead=lead, buyer=buyer,
                  budget_lines=budget_lines)


@router.post("/agreements/{agreement_id}/{action}")
async def agreement_action(request: Request, agreement_id: uuid.UUID, action: str):
    session, form = await poster(request)
    if action not in ("suspend", "resume", "terminate"):
        return HTMLResponse(status_code=404)
    if action == "terminate" and form.get("sure") != "on":  # for good: only when the box says so
        session.flash = ("error", words_for(request)("terminate_sure"))
        return back(f"/console/agreements/{agreement_id}")
    return await act(request, session, form, f"/console/agreements/{agreement_id}", "POST",
                     f"{API}/agreements/{agreement_id}/{action}")


# --- call-off orders -------------------------------------------------------------------------

@router.get("/orders")
async def orders(request: Request, status: str | None = None, cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page(f"{API}/orders", status=status, cursor=cursor)
        names = await named(api, [o["org_id"] for o in found], [o["supplier_org_id"] for o in found])
        # Product names come with the campaigns: one read per campaign on the page, not per order.
        products = {}
        for campaign_id in dict.fromkeys(o["campaign_id"] for o in found):
            try:
                products |= {i["id"]: i["product_name"]
                             for i in (await api.get(f"{API}/campaigns/{campaign_id}"))["items"]}
            except ApiProblem:
                continue
    return render(request, "orders.html", session, orders=found, next_cursor=next_cursor, names=names,
                  products=products, status_filter=status or "")


@router.post("/orders")
async def place_order(request: Request):
    session, form = await poster(request)
    agreement_id = str(form.get("agreement_id", ""))
    return await act(request, session, form, "/console/orders", "POST", f"{API}/orders", lambda: {
        "agreement_id": agreement_id, "item_id": form.get("item_id"),
        "quantity": whole(form.get("quantity"), minimum=1), "budget_line_id": form.get("budget_line_id"),
        "org_id": session.me["org_id"]})


@router.post("/orders/{order_id}/{action}")
async def order_action(request: Request, order_id: uuid.UUID, action: str):
    session, form = await poster(request)
    if action not in ("cancel", "deliver"):
        return HTMLResponse(status_code=404)
    body = {"reason": form["reason"]} if action == "cancel" and form.get("reason") else {}
    return await act(request, session, form, "/console/orders", "POST", f"{API}/orders/{order_id}/{action}", body)
