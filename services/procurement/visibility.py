"""Who sees what of a campaign: SPEC's table (Identity and access) as the one policy every read of
the procurement service goes through — the campaign, its lists, its history, its OCDS export.

Joint procurement crosses subtrees by design: the lead org's subtree runs a campaign, participant
units declare demand and order, invited suppliers offer, the panel's members (wherever their org
sits) evaluate. `access` finds what the caller is to one campaign (`Access`); its `Reader` turns
that into reader kinds, and every read asks the reader (a query condition, a redaction, the history
tokens), never the principal. In a negotiation no supplier learns another's identity, price or
score (财政部令第74号).

Sealed means sealed: an offer is its supplier's alone until its round closes. "Its supplier" is the
org that sent it — a caller whose own org is that supplier — never a caller whose subtree merely
holds the supplier org: the root `admin`, a group over several suppliers, a lead org with a
supplier under it all read offers only once they are opened (开标), like any other reader.

`READS` names every read path of the service with what each kind sees there. docs/authorization.md
renders it (`python -m services.procurement.visibility --write`), and the confidentiality test
(tests/procurement/test_confidentiality.py) fails for a GET path that has no entry here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal, Roles
from kernel.errors import Forbidden, NotFound
from kernel.history import EVERYONE, EVERYONE_TOKEN, HistoryEntry, org_token
from kernel.orgs import in_subtree
from kernel.schema import history, history_audience
from services.procurement.agreements.models import Agreement
from services.procurement.campaigns.models import (
    CAMPAIGN,
    Campaign,
    Complaint,
    InvitedSupplier,
    Offer,
    PanelMember,
    Participant,
)
from services.procurement.demands.models import Demand
from services.procurement.orders.models import Order

# Who may act (write), declared once per rule: each `Roles` below is both a route's `x-roles`
# (docs/authorization.md) and the check its use case makes.
# Runs a campaign and its agreement over the lead org's subtree; declares a unit's demand, places
# and cancels its orders.
PROCUREMENT = Roles("procurement")
SUPPLIERS = Roles("supplier")  # offers, complains and delivers as the invited supplier org itself
PANEL_MEMBERS = Roles("panel_member")  # a seat on one campaign's panel, not a role: `Access` checks it

LEAD = "lead"  # the lead org's subtree (`procurement`, `negotiator`) and auditors over it: READS_EVERYTHING
PANEL = "panel"  # a member of the campaign's evaluation panel
PARTICIPANT = "participant"  # a participant unit (its own demands and orders), or another of the lead's subtree
SUPPLIER = "supplier"  # an invited supplier
WINNER = "winner"  # the invited supplier the campaign is awarded to (its agreement and orders)
KINDS = (LEAD, PANEL, PARTICIPANT, SUPPLIER, WINNER)
KIND_NAMES = {LEAD: "lead org subtree (`procurement`, `negotiator`) and auditors over it", PANEL: "panel member",
              PARTICIPANT: "participant unit (or another role of the lead's subtree)",
              SUPPLIER: "invited supplier (losing or not yet awarded)", WINNER: "invited supplier awarded the campaign",
              None: "anyone else (an uninvited supplier)"}

# Who reads everything of a campaign its org leads: SPEC names `procurement` and `negotiator` in the
# lead org's subtree and auditors over it (`admin` acts everywhere in its subtree). Anyone else of
# the lead's subtree — a budget editor, an IT admin — sees the campaign and its agreement as a
# participant unit does, and its own orgs' demands and orders only (docs/authorization.md).
READS_EVERYTHING = ("procurement", "negotiator", "auditor")


def _reads_all_roles(principal: Principal) -> bool:
    # A read right, not Principal.has_any: that one is about acting, which an auditor never does.
    return bool(principal.roles & {"admin", *READS_EVERYTHING})


def reads_everything(principal: Principal, lead_org_path: str) -> bool:
    """Whether the caller reads everything of what the org at `lead_org_path` leads."""
    return principal.covers(lead_org_path) and _reads_all_roles(principal)


def leads(principal: Principal, lead_org_path: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """reads_everything as a query condition on a lead org's path column."""
    return in_subtree(lead_org_path, principal) if _reads_all_roles(principal) else sa.false()


INVITATION = CAMPAIGN["open_offers"].action  # the history entry that names the invited suppliers
# Statuses in which the award is known: the winner and the unified price are every reader's.
AWARD_KNOWN = ("standstill", "awarded")
NOWHERE = uuid.UUID(int=0)


@dataclass(frozen=True)
class Reader:
    """One caller as a reader of one campaign."""

    campaign: Campaign
    kinds: frozenset[str]
    participant_ids: frozenset[uuid.UUID]  # participant orgs the caller speaks for
    supplier_ids: frozenset[uuid.UUID]  # invited supplier orgs in the caller's subtree
    offering_id: uuid.UUID | None = None  # the invited supplier that is the caller's own org

    @property
    def everything(self) -> bool:
        return LEAD in self.kinds

    @property
    def closed_round(self) -> int:
        """The last round whose offers are unsealed (0: none yet)."""
        campaign = self.campaign
        open_now = campaign.status in ("tendering", "negotiation") and campaign.round_open
        return campaign.round - 1 if open_now else campaign.round

    @property
    def sees_competition(self) -> bool:
        """Who was invited: the lead's, and the panel's and participants' once offers have closed."""
        return self.everything or (bool(self.kinds & {PANEL, PARTICIPANT}) and self.closed_round >= 1)

    @property
    def sees_agreement(self) -> bool:
        return bool(self.kinds & {LEAD, PANEL, PARTICIPANT, WINNER})

    # --- conditions on the campaign's lists --------------------------------------------------

    def offers(self) -> sa.ColumnElement[bool]:
        """A supplier its own offers at once; the lead, the panel and participants closed rounds'.
        Only the offering org itself is "a supplier" here (see the module's docstring)."""
        conditions = [Offer.supplier_org_id == (self.offering_id or NOWHERE)]
        if self.kinds & {LEAD, PANEL, PARTICIPANT}:
            conditions.append(Offer.round <= self.closed_round)
        return sa.or_(*conditions)

    def demands(self) -> sa.ColumnElement[bool]:
        """The lead every demand, a participant its own, nobody else any."""
        if self.everything:
            return sa.true()
        return Demand.org_id.in_(self.participant_ids or {NOWHERE})

    def evaluations(self) -> sa.ColumnElement[bool]:
        return sa.true() if self.kinds & {LEAD, PANEL} else sa.false()

    def complaints(self) -> sa.ColumnElement[bool]:
        """The lead every complaint, a supplier its own."""
        if self.everything:
            return sa.true()
        return Complaint.supplier_org_id.in_(self.supplier_ids or {NOWHERE})

    def orders(self, order_org_id: sa.ColumnElement) -> sa.ColumnElement[bool]:
        """Orders under the campaign's agreement: the lead's and the winner's all, a unit its own."""
        if self.kinds & {LEAD, WINNER}:
            return sa.true()
        return order_org_id.in_(self.participant_ids or {NOWHERE})

    def history_readers(self) -> set[str] | None:
        """The audience tokens the caller holds in the campaign's history (None: every entry)."""
        if self.everything:
            return None
        return set(self.kinds) | {org_token(o) for o in self.participant_ids | self.supplier_ids}

    def history_entry(self, entry: HistoryEntry) -> HistoryEntry:
        """One entry of the campaign's history as this reader may see it: the invitation names the
        suppliers exactly as the campaign's `supplier_org_ids` does for this reader (redact)."""
        if entry.action != INVITATION or self.sees_competition or not entry.data:
            return entry
        invited = [s for s in entry.data.get("supplier_org_ids", []) if uuid.UUID(s) in self.supplier_ids]
        return entry.model_copy(update={"data": {**entry.data, "supplier_org_ids": invited}})

    # --- the campaign itself -----------------------------------------------------------------

    def redact(self, out):
        """The campaign as this reader may see it (a CampaignOut)."""
        if self.everything:
            return out
        changes: dict = {}
        if not self.kinds & {PANEL, PARTICIPANT}:  # suppliers: the units are not theirs to know
            changes["participant_org_ids"] = []
        if not self.sees_competition:
            changes["supplier_org_ids"] = [s for s in out.supplier_org_ids if s in self.supplier_ids]
        if PANEL not in self.kinds:
            changes["panel_member_user_ids"] = []
            changes["panel_buyer_representative_user_ids"] = []
        if not self.sees_agreement:
            changes["agreement_id"] = None
        return out.model_copy(update=changes)


def reader_of(campaign: Campaign, *, lead: bool, panel: bool, participant_ids: set[uuid.UUID],
              supplier_ids: set[uuid.UUID], lead_subtree: bool = False,
              offering_id: uuid.UUID | None = None) -> Reader:
    """`lead`: the caller reads everything (reads_everything); `lead_subtree`: it is of the lead's
    subtree without those roles, and reads as a participant unit with no demand of its own."""
    kinds = set()
    if lead:
        kinds.add(LEAD)
    elif lead_subtree:
        kinds.add(PARTICIPANT)
    if panel:
        kinds.add(PANEL)
    if participant_ids:
        kinds.add(PARTICIPANT)
    if supplier_ids:
        kinds.add(SUPPLIER)
        if campaign.awarded_supplier_org_id in supplier_ids and campaign.status in AWARD_KNOWN:
            kinds.add(WINNER)
    return Reader(campaign, frozenset(kinds), frozenset(participant_ids), frozenset(supplier_ids), offering_id)


# --- what the caller is to a campaign -------------------------------------------------------------
@dataclass
class Access:
    campaign: Campaign
    lead: bool  # the caller reads everything of the campaign (visibility.reads_everything)
    participant_ids: set[uuid.UUID]  # participant orgs in the caller's subtree
    supplier_ids: set[uuid.UUID]  # invited supplier orgs in the caller's subtree
    panel: bool = False  # the caller sits on the campaign's panel
    lead_subtree: bool = False  # the campaign's lead org is in the caller's subtree, whatever its roles
    offering_id: uuid.UUID | None = None  # the caller's own org, when it is an invited supplier

    @property
    def reader(self) -> Reader:
        return reader_of(self.campaign, lead=self.lead, panel=self.panel, participant_ids=self.participant_ids,
                         supplier_ids=self.supplier_ids, lead_subtree=self.lead_subtree,
                         offering_id=self.offering_id)

    def require_lead(self, principal: Principal) -> None:
        if not (self.lead and PROCUREMENT.allow(principal, self.campaign.lead_org_path)):
            raise Forbidden("this needs the procurement role over the campaign's lead org")

    def supplier_org(self, principal: Principal) -> uuid.UUID:
        """The invited supplier the caller speaks for."""
        if principal.is_auditor or "supplier" not in principal.roles or principal.org_id not in self.supplier_ids:
            raise Forbidden("this needs the supplier role in an invited supplier org")
        return principal.org_id


def visible_campaigns(principal: Principal) -> sa.ColumnElement[bool]:
    """The one filter for campaigns a caller may see."""
    return sa.or_(
        in_subtree(Campaign.lead_org_path, principal),
        sa.exists().where(Participant.campaign_id == Campaign.id, in_subtree(Participant.org_path, principal)),
        sa.exists().where(InvitedSupplier.campaign_id == Campaign.id, in_subtree(InvitedSupplier.org_path, principal)),
        sa.exists().where(PanelMember.campaign_id == Campaign.id, PanelMember.user_id == principal.subject),
    )


async def access(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *,
                 lock: bool = False) -> Access:
    query = sa.select(Campaign).where(Campaign.id == campaign_id)
    if lock:  # state changes of one campaign are serialized (SQLite's BEGIN IMMEDIATE already is)
        query = query.with_for_update()
    campaign = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    participants = (await session.execute(sa.select(Participant.org_id, Participant.org_path)
                                          .where(Participant.campaign_id == campaign_id))).all()
    suppliers = (await session.execute(sa.select(InvitedSupplier.supplier_org_id, InvitedSupplier.org_path)
                                       .where(InvitedSupplier.campaign_id == campaign_id))).all()
    invited = {org_id for org_id, path in suppliers if principal.covers(path)}
    seen = Access(campaign, reads_everything(principal, campaign.lead_org_path),
                  {org_id for org_id, path in participants if principal.covers(path)}, invited,
                  lead_subtree=principal.covers(campaign.lead_org_path), offering_id=_own(principal, invited))
    seen.panel = (await session.execute(sa.select(PanelMember.user_id).where(
        PanelMember.campaign_id == campaign_id, PanelMember.user_id == principal.subject))).first() is not None
    if not (seen.lead_subtree or seen.participant_ids or seen.supplier_ids or seen.panel):
        raise NotFound(f"no campaign {campaign_id}")
    return seen


async def accesses(session: AsyncSession, principal: Principal, campaigns: list[Campaign]) -> list[Access]:
    """What the caller is to each of `campaigns` (all of them visible to it), in three queries."""
    ids = [c.id for c in campaigns]
    participants: dict[uuid.UUID, set[uuid.UUID]] = {}
    for campaign_id, org_id, path in (await session.execute(sa.select(
            Participant.campaign_id, Participant.org_id, Participant.org_path)
            .where(Participant.campaign_id.in_(ids)))).all():
        if principal.covers(path):
            participants.setdefault(campaign_id, set()).add(org_id)
    suppliers: dict[uuid.UUID, set[uuid.UUID]] = {}
    for campaign_id, org_id, path in (await session.execute(sa.select(
            InvitedSupplier.campaign_id, InvitedSupplier.supplier_org_id, InvitedSupplier.org_path)
            .where(InvitedSupplier.campaign_id.in_(ids)))).all():
        if principal.covers(path):
            suppliers.setdefault(campaign_id, set()).add(org_id)
    panel = set((await session.execute(sa.select(PanelMember.campaign_id).where(
        PanelMember.campaign_id.in_(ids), PanelMember.user_id == principal.subject))).scalars())
    return [Access(c, reads_everything(principal, c.lead_org_path), participants.get(c.id, set()),
                   suppliers.get(c.id, set()), c.id in panel, principal.covers(c.lead_org_path),
                   _own(principal, suppliers.get(c.id, set()))) for c in campaigns]


def _own(principal: Principal, invited: set[uuid.UUID]) -> uuid.UUID | None:
    """The invited supplier the caller is (its own org), whose offers it reads while they are sealed."""
    return principal.org_id if principal.org_id in invited else None


# --- who the caller meets across subtrees (the gateway names no one else) ----------------------
PARTIES_SCANNED = 500  # campaigns looked at per question: enough for any page a reader is shown


def _actors(ids: set[uuid.UUID]) -> dict[str, uuid.UUID]:
    return {f"{kind}:{i}": i for i in ids for kind in ("user", "api_key")}


async def parties(session: AsyncSession, principal: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` (orgs, users, API keys) the caller meets in what it may read here — a
    campaign's lead, its participants, invited suppliers, winner and panel as `Reader.redact` shows
    them, an agreement's parties, an order's unit, the actor of a history entry it may read. Joint
    procurement is where SPEC's visibility crosses subtrees; the gateway names these and the
    caller's own subtree, nobody else."""
    texts, actors = {str(i) for i in ids}, _actors(ids)
    mentions = sa.or_(
        Campaign.lead_org_id.in_(ids), Campaign.awarded_supplier_org_id.in_(ids),
        sa.exists().where(Participant.campaign_id == Campaign.id, Participant.org_id.in_(ids)),
        sa.exists().where(InvitedSupplier.campaign_id == Campaign.id, InvitedSupplier.supplier_org_id.in_(ids)),
        sa.exists().where(PanelMember.campaign_id == Campaign.id, PanelMember.user_id.in_(texts)),
        sa.exists().where(history.c.object_id == Campaign.id, history.c.actor.in_(actors)))
    campaigns = list((await session.execute(sa.select(Campaign).where(visible_campaigns(principal), mentions)
                                            .order_by(Campaign.id.desc()).limit(PARTIES_SCANNED))).scalars())
    readers = {seen.campaign.id: seen.reader for seen in await accesses(session, principal, campaigns)}
    found: set[uuid.UUID] = set()
    for campaign in campaigns:
        found |= {campaign.lead_org_id} & ids
        if campaign.status in AWARD_KNOWN and campaign.awarded_supplier_org_id in ids:
            found.add(campaign.awarded_supplier_org_id)
    for campaign_id, org_id in (await session.execute(sa.select(Participant.campaign_id, Participant.org_id).where(
            Participant.campaign_id.in_(readers), Participant.org_id.in_(ids)))).all():
        if readers[campaign_id].kinds & {LEAD, PANEL, PARTICIPANT}:
            found.add(org_id)
    for campaign_id, org_id in (await session.execute(sa.select(
            InvitedSupplier.campaign_id, InvitedSupplier.supplier_org_id).where(
            InvitedSupplier.campaign_id.in_(readers), InvitedSupplier.supplier_org_id.in_(ids)))).all():
        if readers[campaign_id].sees_competition or org_id in readers[campaign_id].supplier_ids:
            found.add(org_id)
    for campaign_id, user_id in (await session.execute(sa.select(PanelMember.campaign_id, PanelMember.user_id).where(
            PanelMember.campaign_id.in_(readers), PanelMember.user_id.in_(texts)))).all():
        if readers[campaign_id].kinds & {LEAD, PANEL}:
            found.add(uuid.UUID(user_id))
    for campaign_id, actor, token in (await session.execute(
            sa.select(history.c.object_id, history.c.actor, history_audience.c.token)
            .outerjoin(history_audience, history_audience.c.history_id == history.c.id)
            .where(history.c.object_id.in_(readers), history.c.actor.in_(actors)))).all():
        tokens = readers[campaign_id].history_readers()
        if tokens is None or token in tokens | {EVERYONE_TOKEN}:
            found.add(actors[actor])
    # Agreements and orders: whoever reads one reads its parties and its whole history's actors.
    for lead, supplier in (await session.execute(sa.select(Agreement.lead_org_id, Agreement.supplier_org_id).where(
            agreements_seen(principal), sa.or_(Agreement.lead_org_id.in_(ids), Agreement.supplier_org_id.in_(ids)))
            .limit(PARTIES_SCANNED))).all():
        found |= {lead, supplier} & ids
    found |= set((await session.execute(sa.select(Order.org_id).where(orders_seen(principal), Order.org_id.in_(ids))
                                        .limit(PARTIES_SCANNED))).scalars())
    for table, seen in ((Agreement, agreements_seen(principal)), (Order, orders_seen(principal))):
        found |= {actors[a] for a in (await session.execute(sa.select(history.c.actor).distinct().where(
            history.c.actor.in_(actors), sa.exists().where(table.id == history.c.object_id, seen)))).scalars()}
    return found


# --- agreements and the call-off orders under them -----------------------------------------------
# An agreement holds nothing a unit keeps to itself (the unified prices, the period, the supplier):
# who may read it reads all of it. An order is a unit's: its budget line and its demand are the
# unit's own business (a supplier never sees units' budget lines), and so is why the budget refused
# it. The agreement's supplier reads its orders without them.

def agreements_seen(principal: Principal) -> sa.ColumnElement[bool]:
    """The lead's subtree, the participant units and the winning supplier."""
    return sa.or_(in_subtree(Agreement.lead_org_path, principal),
                  in_subtree(Agreement.supplier_org_path, principal),
                  sa.exists().where(Participant.campaign_id == Agreement.campaign_id,
                                    in_subtree(Participant.org_path, principal)))


def orders_whole(principal: Principal) -> sa.ColumnElement[bool]:
    """Orders the caller reads whole: its own units', and every order under agreements it leads."""
    return sa.or_(in_subtree(Order.org_path, principal),
                  sa.exists().where(Agreement.id == Order.agreement_id, leads(principal, Agreement.lead_org_path)))


def orders_seen(principal: Principal) -> sa.ColumnElement[bool]:
    """Orders the caller reads at all: those it reads whole, and the agreement's supplier its own."""
    return sa.or_(orders_whole(principal),
                  sa.exists().where(Agreement.id == Order.agreement_id,
                                    in_subtree(Agreement.supplier_org_path, principal)))


UNIT_INTERNAL = ("budget_line_id", "demand_id")  # an order's fields only its unit and the lead read


def redact_order(out, whole: bool):
    """An order (an OrderOut) as its reader may see it: whole, or as the agreement's supplier."""
    if whole:
        return out
    changes = dict.fromkeys(UNIT_INTERNAL)
    if out.status == "rejected":
        changes["reason"] = None  # the budget's refusal tells of the unit's line
    return out.model_copy(update=changes)


def redact_order_history(entry: HistoryEntry, whole: bool) -> HistoryEntry:
    """One entry of an order's history as its reader may see it (see redact_order)."""
    if whole or not entry.data:
        return entry
    data = {key: value for key, value in entry.data.items() if key not in UNIT_INTERNAL}
    if entry.action == "rejected":
        data.pop("reason", None)
    return entry.model_copy(update={"data": data})


# --- who may read each history entry of a campaign ---------------------------------------------
# An entry recorded without one of these is the lead's alone (kernel.history fails closed).

def demand_audience(org_id: uuid.UUID) -> list[str]:
    return [org_token(org_id)]


def supplier_audience(org_id: uuid.UUID) -> list[str]:
    return [org_token(org_id)]


EVERY_READER = list(EVERYONE)  # status changes and what every reader sees anyway (SPEC: status and dates)
BUYERS = [PANEL, PARTICIPANT]  # the campaign's details, who was invited, how many offered
PANEL_ONLY = [PANEL]  # the panel's names, the scores
AGREEMENT = [PANEL, PARTICIPANT, WINNER]

# --- the read paths and what each kind sees there ----------------------------------------------
P = "/api/v1/procurement"
READS: dict[str, dict[str | None, str]] = {
    f"{P}/campaigns": {
        LEAD: "every campaign it leads, whole", PANEL: "campaigns whose panel it sits on",
        PARTICIPANT: "campaigns it takes part in", SUPPLIER: "campaigns it is invited to, redacted as below",
        None: "none"},
    f"{P}/campaigns/{{campaign_id}}": {
        LEAD: "everything: participants, invited suppliers, panel, agreement",
        PANEL: "the campaign with participants, the panel, invited suppliers once offers close",
        PARTICIPANT: "the campaign with aggregated demand; invited suppliers once offers close; no panel",
        SUPPLIER: "title, items with caps and aggregated quantities, status and dates, itself among the "
                  "suppliers; after the award the winner and unified prices",
        WINNER: "as a supplier, and the agreement", None: "404"},
    f"{P}/campaigns/{{campaign_id}}/demands": {
        LEAD: "every demand", PARTICIPANT: "its own demands", PANEL: "none (an empty page)",
        SUPPLIER: "none (an empty page)", None: "404"},
    f"{P}/campaigns/{{campaign_id}}/demands/{{demand_id}}": {
        LEAD: "any demand", PARTICIPANT: "its own demands; another unit's is 404", PANEL: "404", SUPPLIER: "404",
        None: "404"},
    f"{P}/campaigns/{{campaign_id}}/offers": {
        LEAD: "offers of closed rounds", PANEL: "offers of closed rounds", PARTICIPANT: "offers of closed rounds",
        SUPPLIER: "its own offers in every round, at once", None: "404"},
    f"{P}/campaigns/{{campaign_id}}/evaluations": {
        LEAD: "every evaluation", PANEL: "every evaluation", PARTICIPANT: "none (an empty page)",
        SUPPLIER: "none (an empty page)", None: "404"},
    f"{P}/campaigns/{{campaign_id}}/complaints": {
        LEAD: "every complaint", SUPPLIER: "its own complaints", PANEL: "none", PARTICIPANT: "none", None: "404"},
    f"{P}/campaigns/{{campaign_id}}/history": {
        LEAD: "every entry",
        PANEL: "status changes, the campaign's details, the panel and the evaluations; no demand or offer",
        PARTICIPANT: "status changes, the campaign's details, its own demands' entries; no scores",
        SUPPLIER: "status changes and the award, its own complaints' entries; nobody else's",
        WINNER: "as a supplier, and the agreement's making", None: "404"},
    f"{P}/campaigns/{{campaign_id}}/ocds": {
        LEAD: "the whole release package: tenderers, award, agreement and every call-off",
        PANEL: "the tender, the award and agreement, tenderers once offers close; no call-offs",
        PARTICIPANT: "the tender, the award and agreement; its own call-offs only",
        SUPPLIER: "the tender (no buyers' units, no tenderers); the award once made",
        WINNER: "as a supplier, and the agreement with every call-off under it", None: "404"},
    f"{P}/agreements": {
        LEAD: "agreements of its campaigns",
        PARTICIPANT: "agreements of campaigns it takes part in (or whose lead's subtree it is in)",
        WINNER: "its own agreements", PANEL: "none", SUPPLIER: "none", None: "none"},
    f"{P}/agreements/{{agreement_id}}": {
        LEAD: "yes", PARTICIPANT: "yes", WINNER: "yes", PANEL: "404", SUPPLIER: "404", None: "404"},
    f"{P}/agreements/{{agreement_id}}/history": {
        LEAD: "yes", PARTICIPANT: "yes", WINNER: "yes", PANEL: "404", SUPPLIER: "404", None: "404"},
    f"{P}/orders": {
        LEAD: "orders under its agreements, whole", PARTICIPANT: "its own orders, whole",
        WINNER: "orders under its agreements, without the units' budget lines, demands and budget refusals",
        PANEL: "none", SUPPLIER: "none", None: "none"},
    f"{P}/orders/{{order_id}}": {
        LEAD: "whole", PARTICIPANT: "its own, whole; another unit's is 404",
        WINNER: "without the unit's budget line, demand and budget refusal", PANEL: "404", SUPPLIER: "404",
        None: "404"},
    f"{P}/orders/{{order_id}}/history": {
        LEAD: "every entry, whole", PARTICIPANT: "its own order's, whole; another unit's is 404",
        WINNER: "every entry, without the unit's budget line, demand and budget refusal", PANEL: "404",
        SUPPLIER: "404", None: "404"},
    # Not about any campaign: the shared catalogue and calendar, the service's own plumbing.
    f"{P}/products": {None: "the shared catalogue: every caller"},
    f"{P}/products/{{product_id}}": {None: "the shared catalogue: every caller"},
    f"{P}/working-days": {None: "the calendar: every caller"},
    f"{P}/parties": {None: "of the ids asked, those the caller meets in the reads above: every caller, for itself"},
    f"{P}/dead-letters": {None: "admin only; no campaign data beyond event payloads"},
    f"{P}/orgs/{{org_id}}": {None: "the org directory, scoped to the caller's subtree"},
}
# The spreadsheets walk the lists' own queries: each reader gets exactly the list's rows.
for _listed in ("orders", "agreements"):
    for _format in ("csv", "xlsx"):
        READS[f"{P}/{_listed}.{_format}"] = {kind: f"as `GET {P}/{_listed}`, as a spreadsheet"
                                             for kind in READS[f"{P}/{_listed}"]}
COLUMNS = (LEAD, PANEL, PARTICIPANT, SUPPLIER, WINNER, None)


# --- the table in docs/authorization.md ----------------------------------------------------------
DOC_BEGIN, DOC_END = "<!-- visibility-table:begin -->", "<!-- visibility-table:end -->"


def render() -> str:
    """READS as the markdown table of docs/authorization.md."""
    lines = ["| Read | " + " | ".join(KIND_NAMES[k] for k in COLUMNS) + " |",
             "|---|" + "---|" * len(COLUMNS)]
    for path, seen in READS.items():
        if set(seen) == {None}:  # the same for every reader
            lines.append(f"| `GET {path}` | " + " | ".join([seen[None]] * len(COLUMNS)) + " |")
            continue
        lines.append(f"| `GET {path}` | " + " | ".join(_cell(seen, k) for k in COLUMNS) + " |")
    return "\n".join(lines)


def _cell(seen: dict[str | None, str], kind: str | None) -> str:
    if kind in seen:
        return seen[kind]
    if kind == WINNER:  # the winner is an invited supplier first
        return seen.get(SUPPLIER, "")
    return ""


def write_doc(doc_path) -> None:
    text = doc_path.read_text(encoding="utf-8")
    head, rest = text.split(DOC_BEGIN, 1)
    tail = rest.split(DOC_END, 1)[1]
    doc_path.write_text(f"{head}{DOC_BEGIN}\n{render()}\n{DOC_END}{tail}", encoding="utf-8")


def documented(doc_path) -> str:
    return doc_path.read_text(encoding="utf-8").split(DOC_BEGIN, 1)[1].split(DOC_END, 1)[0].strip()


if __name__ == "__main__":
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description="The visibility table of docs/authorization.md.")
    parser.add_argument("--write", action="store_true", help="rewrite the table in docs/authorization.md")
    doc = Path(__file__).resolve().parents[2] / "docs" / "authorization.md"
    if parser.parse_args().write:
        write_doc(doc)
    else:
        print(render())
