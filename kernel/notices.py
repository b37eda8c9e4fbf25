"""The notices' rules with figures, as policy data shared by budget, procurement and licenses.

An org may set its own policy document; its subtree inherits it. The effective policy of an org
is resolved field by field: each field comes from the nearest org on its path (itself, then its
ancestors) whose own document sets it, else from the default, which names the notice it comes
from. Mapping fields (`caps`, `special_caps`, `edition_caps`, `seats_per_device`) resolve per key,
and `thresholds` per fiscal year, so a jurisdiction that sets the office cap keeps the inherited
antivirus caps, and one that sets its 2024 thresholds keeps its parent's for other years.

This module is pure: `resolve()` takes the documents of the org's path, whoever stores them
(budget keeps the originals, procurement and licenses a replicated copy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from fractions import Fraction
from typing import Annotated, Any, Literal

from annotated_types import Interval
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kernel.bounds import CHINA, FiscalYear, PositiveFen, UnitPriceFen
from kernel.contracts import CATEGORIES, Category

EDITIONS = ("client", "server")
Edition = Literal["client", "server"]

# The notices the defaults come from.
NOTICE_98 = "财行〔2013〕98号"
NOTICE_ENSHI_2021 = "恩施州 2021: decentralized procurement from 600,000 元"
NOTICE_NATIONAL_2020 = "国办发〔2019〕55号 (national 2020 figures): public tender from 2,000,000 元"
NOTICE_ART_52 = "政府采购法 Art. 52: challenges within 7 working days"
NOTICE_74 = "财政部令第74号"
NOTICE_88 = "国办发〔2013〕88号: units report to the copyright bureau of their level before the year ends"

DEFAULT = "default"


@dataclass(frozen=True)
class Source:
    """Where one effective value comes from: an org's own document, or the default and its notice."""

    origin: str  # the org id (str) whose own document sets the value, or "default"
    notice: str | None = None  # the notice behind a default
    org_path: str | None = None  # the path of the org that sets it

    @property
    def is_default(self) -> bool:
        return self.origin == DEFAULT

    @property
    def depth(self) -> int:
        """How deep the setting org is (-1 for a default): the nearer to the org, the deeper."""
        return -1 if self.org_path is None else len([p for p in self.org_path.split("/") if p])

    def as_json(self) -> dict[str, Any]:
        return {"from": self.origin, "notice": self.notice, "org_path": self.org_path}


@dataclass(frozen=True)
class Thresholds:
    decentralized_fen: int
    public_tender_fen: int

    def method_for(self, amount_fen: int) -> str:
        """The procurement method an amount calls for (SPEC's labels)."""
        if amount_fen >= self.public_tender_fen:
            return "public_tender"
        if amount_fen >= self.decentralized_fen:
            return "decentralized_procurement"
        return "below_threshold"


# Default values of each field, and the notice each comes from.
DEFAULT_CAPS: dict[str, int | None] = {"office": 60_000, "antivirus": 10_000}
DEFAULT_SPECIAL_CAPS: dict[str, int | None] = {"office": 140_000}
DEFAULT_EDITION_CAPS: dict[str, int | None] = {"antivirus.client": 10_000, "antivirus.server": 140_000}
DEFAULT_SEATS_PER_DEVICE: dict[str, int | None] = {"os": 1, "office": 1, "antivirus": 1}
DEFAULT_DECENTRALIZED_FEN = 60_000_000
DEFAULT_PUBLIC_TENDER_FEN = 200_000_000
DEFAULT_STANDSTILL_DAYS = 7
DEFAULT_PANEL_MIN_MEMBERS = 3
DEFAULT_PANEL_MAX_BUYER_SHARE = Fraction(1, 3)
DEFAULT_ANNUAL_REPORT_DUE = "12-31"  # month-day of the report's own year, the end of that day in Beijing

DEFAULTS: dict[str, Any] = {
    "caps": DEFAULT_CAPS,
    "special_caps": DEFAULT_SPECIAL_CAPS,
    "edition_caps": DEFAULT_EDITION_CAPS,
    "os_needs_justification": True,
    "seats_per_device": DEFAULT_SEATS_PER_DEVICE,
    "decentralized_threshold_fen": DEFAULT_DECENTRALIZED_FEN,
    "public_tender_threshold_fen": DEFAULT_PUBLIC_TENDER_FEN,
    "standstill_days": DEFAULT_STANDSTILL_DAYS,
    "panel_min_members": DEFAULT_PANEL_MIN_MEMBERS,
    "panel_odd_members": True,
    "panel_max_buyer_share": DEFAULT_PANEL_MAX_BUYER_SHARE,
    "annual_report_due": DEFAULT_ANNUAL_REPORT_DUE,
}
NOTICES: dict[str, str] = {
    "caps": NOTICE_98,
    "special_caps": NOTICE_98,
    "edition_caps": NOTICE_98,
    "os_needs_justification": f"{NOTICE_98}: the OS comes with the computer",
    "seats_per_device": f"{NOTICE_98}: per computer at most one OS, one office suite and one antivirus",
    "decentralized_threshold_fen": NOTICE_ENSHI_2021,
    "public_tender_threshold_fen": NOTICE_NATIONAL_2020,
    "thresholds": NOTICE_ENSHI_2021,
    "standstill_days": NOTICE_ART_52,
    "panel_min_members": f"{NOTICE_74}: at least 3 members",
    "panel_odd_members": f"{NOTICE_74}: an odd number of members",
    "panel_max_buyer_share": f"{NOTICE_74}: experts at least two thirds",
    "annual_report_due": NOTICE_88,
}
MAPPING_FIELDS = ("caps", "special_caps", "edition_caps", "seats_per_device")
SCALAR_FIELDS = ("os_needs_justification", "decentralized_threshold_fen", "public_tender_threshold_fen",
                 "standstill_days", "panel_min_members", "panel_odd_members", "panel_max_buyer_share",
                 "annual_report_due")

# ---------------------------------------------------------------------------------------------
# The document an org sets: every field optional; an absent field (or mapping key) is inherited.

CapFen = UnitPriceFen | None  # null: no cap for that category, whatever the ancestors say
SeatLimit = Annotated[int, Interval(ge=1, le=1000)] | None  # null: no limit


class YearThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fiscal_year: FiscalYear
    decentralized_fen: PositiveFen
    public_tender_fen: PositiveFen


class PolicyDocument(BaseModel):
    """An org's own policy. Absent fields inherit; the API's PUT replaces the whole document."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    caps: dict[Category, CapFen] | None = Field(
        None, description="unit price cap per category, in fen (antivirus: the client edition's unless "
                          "edition_caps says otherwise)")
    special_caps: dict[Category, CapFen] | None = Field(
        None, description="cap for a line with a justified special need, in fen")
    edition_caps: dict[str, CapFen] | None = Field(
        None, description='cap per "category.edition", e.g. "antivirus.client", "antivirus.server", in fen')
    os_needs_justification: bool | None = Field(
        None, description="an os line needs a justification (the OS comes with the computer)")
    seats_per_device: dict[Category, SeatLimit] | None = Field(
        None, description="how many seats of a category one device may hold (null: no limit)")
    decentralized_threshold_fen: PositiveFen | None = Field(
        None, description="decentralized-procurement threshold for years without their own entry")
    public_tender_threshold_fen: PositiveFen | None = Field(
        None, description="public-tender threshold for years without their own entry")
    thresholds: list[YearThresholds] | None = Field(
        None, max_length=200,
        description="thresholds per fiscal year: [{fiscal_year, decentralized_fen, public_tender_fen}]")
    standstill_days: Annotated[int, Interval(ge=0, le=60)] | None = Field(
        None, description="working days between the award and the agreement")
    panel_min_members: Annotated[int, Interval(ge=1, le=99)] | None = None
    panel_odd_members: bool | None = None
    panel_max_buyer_share: str | None = Field(
        None, max_length=20,
        description='the largest share of buyer representatives on a panel, a fraction such as "1/3"')
    annual_report_due: str | None = Field(
        None, max_length=5, pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        description='the day ("MM-DD") of the report\'s year by whose end, Beijing time, the annual report is due')

    @field_validator("annual_report_due")
    @classmethod
    def _a_day_of_every_year(cls, value: str | None) -> str | None:
        if value is not None:
            month, day = map(int, value.split("-"))
            try:
                date(2001, month, day)  # not a leap year: 02-29 would be missing three years in four
            except ValueError:
                raise ValueError(f"{value} is not a day of every year") from None
        return value

    @field_validator("panel_max_buyer_share")
    @classmethod
    def _fraction(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            share = Fraction(value)
        except (ValueError, ZeroDivisionError):
            raise ValueError('a fraction such as "1/3" is expected') from None
        if not 0 <= share <= 1 or share.denominator > 1000:
            raise ValueError("a share between 0 and 1 is expected")
        return str(share)

    @field_validator("edition_caps")
    @classmethod
    def _edition_keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for key in value or {}:
            category, _, edition = key.partition(".")
            if category not in CATEGORIES or edition not in EDITIONS:
                raise ValueError(f'{key!r}: a "category.edition" key such as "antivirus.client" is expected')
        return value

    @field_validator("thresholds")
    @classmethod
    def _one_per_year(cls, value: list[YearThresholds] | None) -> list[YearThresholds] | None:
        if value is None:
            return None
        years = [t.fiscal_year for t in value]
        if len(set(years)) != len(years):
            raise ValueError("one entry per fiscal year")
        for t in value:
            if t.public_tender_fen < t.decentralized_fen:
                raise ValueError(f"{t.fiscal_year}: the public-tender threshold is below the decentralized one")
        return sorted(value, key=lambda t: t.fiscal_year)

    def values(self) -> dict[str, Any]:
        """The fields this document sets, as JSON values (what is stored and replicated)."""
        return self.model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------------------------------------
# The effective policy

@dataclass(frozen=True)
class EffectivePolicy:
    org_path: str
    caps: Mapping[str, int | None]
    special_caps: Mapping[str, int | None]
    edition_caps: Mapping[str, int | None]
    os_needs_justification: bool
    seat_limits: Mapping[str, int | None]
    decentralized_threshold_fen: int
    public_tender_threshold_fen: int
    thresholds: Mapping[int, Thresholds]  # per fiscal year, each from the nearest org with an entry
    standstill_days: int
    panel_min_members: int
    panel_odd_members: bool
    panel_max_buyer_share: Fraction
    annual_report_due: str = DEFAULT_ANNUAL_REPORT_DUE
    sources: Mapping[str, Source] = field(default_factory=dict)

    def annual_report_deadline(self, year: int) -> datetime:
        """The last moment of the due day of `year`'s annual report, Beijing time (23:59:59): a
        report submitted after it is late."""
        month, day = map(int, self.annual_report_due.split("-"))
        return datetime.combine(date(year, month, day), time(23, 59, 59), CHINA).astimezone(UTC)

    def seats_per_device(self, category: str) -> int | None:
        """How many seats of a category one device may hold; None: no limit."""
        return self.seat_limits.get(category)

    def cap_for(self, category: str, edition: str | None = None, special: bool = False) -> int | None:
        """The unit price cap of a category (and edition), in fen; None: no cap.

        With `special` (a justified special need) the special-need cap where the category has
        one; an edition with its own cap has no special-need cap (an antivirus client above its cap
        is refused whatever the justification).
        """
        if edition is not None and f"{category}.{edition}" in self.edition_caps:
            return self.edition_caps[f"{category}.{edition}"]
        if special and category in self.special_caps:
            return self.special_caps[category]
        return self.caps.get(category)

    def thresholds_for(self, fiscal_year: int) -> Thresholds:
        """The thresholds of a fiscal year: the nearest org's entry for that year, unless a nearer
        org sets an all-years figure; else the all-years figures; else the defaults."""
        base = Thresholds(self.decentralized_threshold_fen, self.public_tender_threshold_fen)
        year = self.thresholds.get(fiscal_year)
        if year is None:
            return base
        year_depth = self.sources[f"thresholds.{fiscal_year}"].depth
        return Thresholds(
            year.decentralized_fen if year_depth >= self.sources["decentralized_threshold_fen"].depth
            else base.decentralized_fen,
            year.public_tender_fen if year_depth >= self.sources["public_tender_threshold_fen"].depth
            else base.public_tender_fen)

    def threshold_sources(self, fiscal_year: int) -> dict[str, Source]:
        """Where each tier of `thresholds_for(fiscal_year)` comes from."""
        out = {"decentralized_fen": self.sources["decentralized_threshold_fen"],
               "public_tender_fen": self.sources["public_tender_threshold_fen"]}
        year = self.sources.get(f"thresholds.{fiscal_year}")
        if year is not None:
            for tier, base in (("decentralized_fen", "decentralized_threshold_fen"),
                               ("public_tender_fen", "public_tender_threshold_fen")):
                if year.depth >= self.sources[base].depth:
                    out[tier] = year
        return out

    def as_json(self) -> dict[str, Any]:
        """The effective values, in the shape of a policy document, plus where each comes from."""
        return {
            "caps": dict(self.caps), "special_caps": dict(self.special_caps), "edition_caps": dict(self.edition_caps),
            "os_needs_justification": self.os_needs_justification, "seats_per_device": dict(self.seat_limits),
            "decentralized_threshold_fen": self.decentralized_threshold_fen,
            "public_tender_threshold_fen": self.public_tender_threshold_fen,
            "thresholds": [{"fiscal_year": y, "decentralized_fen": t.decentralized_fen,
                            "public_tender_fen": t.public_tender_fen} for y, t in sorted(self.thresholds.items())],
            "standstill_days": self.standstill_days, "panel_min_members": self.panel_min_members,
            "panel_odd_members": self.panel_odd_members, "panel_max_buyer_share": str(self.panel_max_buyer_share),
            "annual_report_due": self.annual_report_due,
            "sources": {name: source.as_json() for name, source in sorted(self.sources.items())},
        }


def ancestors_and_self(path: str) -> list[str]:
    """`/a/b/c/` → [`/a/`, `/a/b/`, `/a/b/c/`]."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def _default(name: str) -> Source:
    return Source(DEFAULT, NOTICES[name])


def resolve(documents: Iterable[tuple[str, Any, Mapping[str, Any]]], org_path: str) -> EffectivePolicy:
    """The effective policy at `org_path` from the own documents `(org_path, org_id, values)` of
    orgs (those not on the path are ignored): field by field, the nearest org's value, else the
    default."""
    on_path = set(ancestors_and_self(org_path))
    # Nearest first: the deepest path on the org's own path is the org itself, then its parent…
    chain = sorted(((path, org_id, values) for path, org_id, values in documents if path in on_path),
                   key=lambda doc: len(doc[0]), reverse=True)
    sources: dict[str, Source] = {}
    resolved: dict[str, Any] = {}

    for name in SCALAR_FIELDS:
        for path, org_id, values in chain:
            if values.get(name) is not None:
                resolved[name], sources[name] = values[name], Source(str(org_id), None, path)
                break
        else:
            resolved[name], sources[name] = DEFAULTS[name], _default(name)

    for name in MAPPING_FIELDS:
        merged: dict[str, Any] = {}
        # The defaults first, then each org from the farthest to the nearest overwrites its keys.
        for key, value in DEFAULTS[name].items():
            merged[key] = value
            sources[f"{name}.{key}"] = _default(name)
        for path, org_id, values in reversed(chain):
            for key, value in (values.get(name) or {}).items():
                merged[key] = value
                sources[f"{name}.{key}"] = Source(str(org_id), None, path)
        resolved[name] = merged

    years: dict[int, Thresholds] = {}
    for path, org_id, values in reversed(chain):
        for entry in values.get("thresholds") or ():
            year = int(entry["fiscal_year"])
            years[year] = Thresholds(int(entry["decentralized_fen"]), int(entry["public_tender_fen"]))
            sources[f"thresholds.{year}"] = Source(str(org_id), None, path)

    return EffectivePolicy(
        org_path=org_path,
        caps=resolved["caps"], special_caps=resolved["special_caps"], edition_caps=resolved["edition_caps"],
        os_needs_justification=bool(resolved["os_needs_justification"]),
        seat_limits=resolved["seats_per_device"],
        decentralized_threshold_fen=int(resolved["decentralized_threshold_fen"]),
        public_tender_threshold_fen=int(resolved["public_tender_threshold_fen"]),
        thresholds=years, standstill_days=int(resolved["standstill_days"]),
        panel_min_members=int(resolved["panel_min_members"]), panel_odd_members=bool(resolved["panel_odd_members"]),
        panel_max_buyer_share=Fraction(resolved["panel_max_buyer_share"]),
        annual_report_due=str(resolved["annual_report_due"]), sources=sources)


def defaults() -> EffectivePolicy:
    """The effective policy where no org sets anything: the notices' figures."""
    return resolve([], "/")

