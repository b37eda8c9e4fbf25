"""Recognition of raw software names as catalogue titles.

Detection tools and Windows' Programs and Features print names such as "Microsoft Office Professional
Plus 2016 - zh-cn" or "WPS Office 2019 专业版 (11.8.2.12085)". A name is recognized in three steps:

1. ``normalize()`` folds it: NFKC (full-width letters, digits and brackets become half-width), casefold,
   trademark signs, version and build numbers, architecture tags and language tags removed, spaces
   collapsed. "7-Zip 23.01 (x64)" becomes "7-zip".
2. If the normalized name is an update, a language pack, a runtime, a driver or a component
   (``NOT_A_PRODUCT``), it is *not a product*: never counted and never queued as unrecognized.
3. Otherwise every title's patterns are searched (``re.search``, case-insensitive) in the normalized
   name. Patterns are regular expressions written against the normalized form: lowercase, half-width,
   without versions or language tags. Among the titles that match, the one whose matching pattern
   requires the most characters wins (``specificity()``: "office professional plus 2016" beats
   "office professional 2016", "wps office 2019.*专业" beats "wps office.*专业"). Two titles tied at the
   top are broken by the vendor hint (the raw vendor naming the title's vendor); a tie the vendor does
   not break is unrecognized, never a guess. The vendor never vetoes a match: tools print vendors
   inconsistently ("Microsoft Corporation", "微软", empty), the name is what decides.
4. A pattern may end with a version part, `<name pattern> @version <version pattern>`, searched in the
   entry's version (or the dotted number inside the name): for the few products that print a bare name
   whose build says the edition ("WPS Office" with a consumer build 11.1.0.* is the free edition).

The module is pure: no database. The ``inspection`` side stores titles and user-added patterns and hands
them to ``Recognizer``; ``check_pattern()`` is what it runs before storing a pattern.
"""

from __future__ import annotations

import json
import logging
import re
import re._parser as sre_parse  # the stdlib's own regex parser: the only exact way to measure a pattern
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from kernel.contracts import CATEGORIES
from kernel.software_names import closest, normalize

log = logging.getLogger(__name__)

LICENSING = ("commercial", "free", "personal_free", "bundled")

# Fixed for ever: the shipped titles' ids are uuid5(this, key), so every install has the same ids and
# a title named in one installation's export means the same title in another's.
TITLE_NAMESPACE = uuid.UUID("5b0c6a2e-3f4d-5e8a-9c1b-7a2d4e6f8091")

MAX_PATTERN_LENGTH = 300
# A pattern must require at least this many characters: "a", "." or "\w+" would claim half the
# inventory. Two, because real product names are that short in Chinese ("钉钉") and as words ("qq").
MIN_SPECIFICITY = 2


def title_id(key: str) -> uuid.UUID:
    """Returns the fixed id of a shipped title."""
    return uuid.uuid5(TITLE_NAMESPACE, key)


@dataclass(frozen=True)
class Title:
    id: uuid.UUID
    key: str
    vendor: str
    name: str
    category: str
    edition: str | None
    licensing: str
    domestic: bool
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Recognition:
    title: Title | None  # None: not recognized, or not a product
    not_a_product: bool  # an update, language pack, runtime, driver…: never counted, never queued as unrecognized
    pattern: str | None  # the pattern that decided, so the decision is explainable


UNRECOGNIZED = Recognition(title=None, not_a_product=False, pattern=None)


# --- not a product --------------------------------------------------------------------------------

# Matched against the normalized name before any title: "Microsoft Office 2016 语言包" is not Office 2016.
# Words, not substrings, so "360驱动大师" (a product) is not "驱动程序" (a driver).
NOT_A_PRODUCT = re.compile(
    r"\bkb\d{6,8}\b"
    r"|\bupdater?s?\b|更新(?:程序|助手)|安全更新|\bhotfix\b|\bpatch(?:es)?\b|补丁"
    r"|^(?!.*\bwindows\b).*\bservice pack\b"
    r"|\blanguage (?:interface )?pack\b|语言包|语言界面包|\bproofing\b|校对工具|\bhelp pack\b|\boffice\b.*\bmui\b"
    r"|\bredistributable\b|\bredist\b|\bruntimes?\b|运行库|运行时|\.net (?:framework|core|desktop)"
    r"|\bdrivers?\b|驱动(?:程序)?(?: |$)|\bchipset\b|\bfirmware\b"
    r"|\bdirectx\b|\bsdk\b|\bdevelopment kit\b|\bjdk\b|\bjre\b|\bflash player\b"
    r"|\bclick-to-run\b|\bcomponents?\b|\binstaller\b|\bdatabase engine\b"
    r"|\bvisual c\+\+\b|\bvc ?redist\b|\bwebview2?\b|\bbootstrapper\b|\bprerequisites?\b"
    r"|\binterop(?:erability)?\b|\badd-?ins?\b|\bplug-?ins?\b|\bmaintenance service\b|^vmware tools$"
    r"|\bguest additions\b|\bgenuine service\b|\bmaterial library\b|\bobject enabler\b"
    # The parts SQL Server, MySQL and Python install beside the product itself.
    r"|\bcommon files\b|\bmanagement objects\b|\bnative client\b|\bbatch parser\b|\bclr types\b|\bsupport files\b"
    r"|\blanguage service\b|\bpolicies\b|\b(?:vss|sql) writer\b|\bdata-tier\b"
    r"|\bconnection info\b|\bbrowser for sql server\b|\blocaldb\b|\bodbc\b|\bole db\b|\bjdbc\b|\bconnector\b"
    r"|^python (?:core interpreter|standard library|pip bootstrap|executables|development libraries|documentation"
    r"|tcl/tk support|test suite|utility scripts|add to path)\b"
    r"|^(?:intel|realtek|nvidia|amd|synaptics|elan|conexant|dolby|waves maxxaudio)\b"
    r"|打印机|\bprinter\b|扫描仪|\bscanner\b|\blaserjet\b|\bdeskjet\b|\bofficejet\b"
)


# --- patterns -------------------------------------------------------------------------------------


def _required(tree: sre_parse.SubPattern) -> int:
    """Counts the characters every match of a parsed pattern must contain (lookaheads included)."""
    total = 0
    for op, arg in tree:
        name = str(op)
        if name in ("LITERAL", "NOT_LITERAL", "IN"):
            total += 1
        elif name == "SUBPATTERN":
            total += _required(arg[-1])
        elif name == "BRANCH":
            total += min(_required(branch) for branch in arg[1])
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, item = arg
            total += low * _required(item)
        elif name == "ASSERT" and arg[0] == 1:  # a lookahead requires its text, a lookbehind only reads back
            total += _required(arg[1])
        elif name == "ATOMIC_GROUP":
            total += _required(arg)
        # ANY counts nothing: "." is what makes ".*" match anything. Anchors and negative lookarounds
        # restrict a match but require no character.
    return total


def _literal_runs(tree: sre_parse.SubPattern) -> list[str]:
    """Lists runs of characters every match of a parsed pattern contains, as they are written."""
    runs: list[str] = []
    run: list[str] = []
    for op, arg in tree:
        name = str(op)
        if name == "LITERAL":
            run.append(chr(arg))
            continue
        runs.append("".join(run))
        run = []
        if name == "SUBPATTERN":
            runs += _literal_runs(arg[-1])
        elif name == "ASSERT" and arg[0] == 1:
            runs += _literal_runs(arg[1])
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and arg[0] >= 1:
            runs += _literal_runs(arg[2])
    runs.append("".join(run))
    return [r for r in runs if r]


def _required_text(pattern: str) -> str:
    """Returns the longest text a pattern's every match contains: a substring test that spares the regex."""
    runs = sorted(_literal_runs(sre_parse.parse(pattern, re.IGNORECASE)), key=len, reverse=True)
    # Only where casefolding is plain lowercasing: "ß" folds to "ss", which the regex would not equate.
    folded = [r.casefold() for r in runs if r.casefold() == r.lower()]
    return folded[0] if folded else ""


def specificity(pattern: str) -> int:
    """Returns how many characters a pattern requires: the larger, the more specific."""
    return _required(sre_parse.parse(pattern, re.IGNORECASE))


# Names of every kind a pattern must not mostly match: a pattern hitting many of these claims
# "nearly anything".
_BREADTH_PROBES = tuple(
    normalize(name)
    for name in (
        "Microsoft Office Professional Plus 2016",
        "Microsoft Windows 10 专业版",
        "WPS Office 2019 专业版",
        "7-Zip 23.01 (x64)",
        "WinRAR 6.24 (64-bit)",
        "360安全卫士",
        "火绒安全软件",
        "Google Chrome",
        "腾讯QQ",
        "微信",
        "钉钉",
        "Adobe Acrobat Reader DC",
        "AutoCAD 2020 - 简体中文 (Simplified Chinese)",
        "中望CAD 2023",
        "达梦数据库 DM8",
        "Navicat Premium 16",
        "Notepad++ (64-bit x64)",
        "Foxit PDF Reader",
        "CAJViewer 7.3",
        "用友U8",
        "金蝶KIS",
        "VMware Workstation",
        "Xshell 7",
        "搜狗输入法 13.5",
        "网上报税系统",
    )
)
_BREADTH_LIMIT = 4  # a product name can fairly cover a family ("microsoft office"), not a fifth of the probes


VERSION_CLAUSE = " @version "
_VERSION_CLAUSE = re.compile(r"\s+@version(?:\s+|$)")
# A version as tools print it inside a name when they give no version of their own: "WPS Office (11.1.0.14309)".
_VERSION_IN_NAME = re.compile(r"\d+(?:\.\d+){1,3}")


def split_pattern(pattern: str) -> tuple[str, str | None]:
    """Splits a pattern into the part searched in the normalized name and the optional part searched
    in the version ("^wps office$ @version ^1\\d\\.1\\.0\\.": the bare name with a consumer build number)."""
    parts = _VERSION_CLAUSE.split(pattern, maxsplit=1)
    return parts[0].strip(), (parts[1].strip() if len(parts) > 1 else None)


def check_pattern(pattern: str) -> str:
    """Returns the pattern as stored, or raises ValueError saying why it cannot be one."""
    stored = pattern.strip()
    if not stored:
        raise ValueError("the pattern is empty")
    if len(stored) > MAX_PATTERN_LENGTH:
        raise ValueError(f"the pattern is longer than {MAX_PATTERN_LENGTH} characters")
    name, version = split_pattern(stored)
    try:
        compiled = re.compile(name, re.IGNORECASE)
        required = specificity(name)
        if version is not None:
            re.compile(version, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"the pattern is not a valid regular expression: {exc}") from None
    if version == "":
        raise ValueError("the pattern's version part is empty")
    # The name part alone must be narrow: a version clause narrows by build, not by product.
    if compiled.search("") is not None or required < MIN_SPECIFICITY:
        raise ValueError(f"the pattern matches nearly anything: it must require at least {MIN_SPECIFICITY} characters")
    hits = sum(1 for probe in _BREADTH_PROBES if compiled.search(probe))
    if hits > _BREADTH_LIMIT:
        raise ValueError(f"the pattern matches nearly anything: {hits} of {len(_BREADTH_PROBES)} unrelated names")
    return stored


# --- the recognizer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    title: Title
    pattern: str
    regex: re.Pattern[str]
    version: re.Pattern[str] | None  # the pattern's version part, if it has one
    specificity: int
    required_text: str

    @classmethod
    def of(cls, title: Title, pattern: str) -> _Compiled:
        name, version = split_pattern(pattern)
        regex = re.compile(name, re.IGNORECASE)
        version_regex = re.compile(version, re.IGNORECASE) if version else None
        required = specificity(name) + (specificity(version) if version else 0)
        return cls(title, pattern, regex, version_regex, required, _required_text(name))


_DEPENDS_ON_VERSION = object()  # cached for a name whose decision a version clause takes part in


class Recognizer:
    """Recognizes raw names as titles; one instance per catalogue version, cached per (name, vendor),
    and per version as well only for the few names a pattern's version part takes part in."""

    def __init__(self, titles: Iterable[Title]) -> None:
        self.titles = tuple(titles)
        self._patterns: list[_Compiled] = []
        for title in self.titles:
            for pattern in title.patterns:
                try:
                    self._patterns.append(_Compiled.of(title, pattern))
                except (re.error, RecursionError, OverflowError) as exc:
                    # A stored pattern passed check_pattern when it was added; one that no longer compiles
                    # (a future Python) must not stop the rest of the catalogue from recognizing.
                    log.warning("catalogue pattern %r of %s skipped: %s", pattern, title.key, exc)
        # The most specific first, so the search can stop once a match is less specific than the best.
        self._patterns.sort(key=lambda c: -c.specificity)
        self._cache: dict[tuple[str, ...], object] = {}

    def recognize(self, name: str, vendor: str | None = None, version: str | None = None) -> Recognition:
        """Decides which title a raw inventory entry is, if any.

        The version takes part only through a pattern's version part: titles are told apart by the
        year or edition in their names ("Office 2016"), except a few that print a bare name whose build
        number says the edition (WPS Office's consumer builds are x.1.0.*). Without a version the one
        inside the name is used ("WPS Office (11.1.0.14309)").
        """
        key = (name, vendor or "")
        found = self._cache.get(key)
        if found is None:
            found, depends = self._decide(name, vendor, version)
            self._cache[key] = _DEPENDS_ON_VERSION if depends else found
            if depends:
                self._cache[(*key, version or "")] = found
        elif found is _DEPENDS_ON_VERSION:
            found = self._cache.get((*key, version or ""))
            if found is None:
                found = self._cache[(*key, version or "")] = self._decide(name, vendor, version)[0]
        return found

    def _decide(self, name: str, vendor: str | None, version: str | None) -> tuple[Recognition, bool]:
        """The decision, and whether a pattern's version part took part in it."""
        text = normalize(name)
        if not text:
            return UNRECOGNIZED, False
        if NOT_A_PRODUCT.search(text):
            return Recognition(title=None, not_a_product=True, pattern=None), False
        best: list[_Compiled] = []
        depends = False
        for candidate in self._patterns:
            if best and candidate.specificity < best[0].specificity:
                break
            if candidate.required_text not in text or not candidate.regex.search(text):
                continue
            if candidate.version is not None:
                depends = True
                if not candidate.version.search(_version_of(name, version)):
                    continue
            if all(c.title.id != candidate.title.id for c in best):
                best.append(candidate)
        if not best:
            return UNRECOGNIZED, depends
        if len(best) > 1:
            by_vendor = [c for c in best if vendor and _same_vendor(vendor, c.title.vendor)]
            if len(by_vendor) != 1:
                return UNRECOGNIZED, depends
            best = by_vendor
        return Recognition(title=best[0].title, not_a_product=False, pattern=best[0].pattern), depends


def _version_of(name: str, version: str | None) -> str:
    if version and version.strip():
        return unicodedata.normalize("NFKC", version).strip()
    found = _VERSION_IN_NAME.findall(unicodedata.normalize("NFKC", name))
    return found[-1] if found else ""


def _same_vendor(raw: str, vendor: str) -> bool:
    """Tells whether a raw vendor string names a catalogue vendor ("Microsoft Corporation", "微软")."""
    raw_text = normalize(raw)
    names = {normalize(vendor), *_vendor_aliases().get(vendor, ())}
    return any(alias and alias in raw_text for alias in names)


# --- the shipped catalogue ------------------------------------------------------------------------


@cache
def _catalogue_file() -> dict:
    return json.loads(resources.files(__package__).joinpath("titles.json").read_text(encoding="utf-8"))


@cache
def _vendor_aliases() -> dict[str, tuple[str, ...]]:
    return {vendor: tuple(normalize(a) for a in aliases) for vendor, aliases in _catalogue_file()["vendors"].items()}


def catalogue_version() -> int:
    """Returns the shipped catalogue's version: raised whenever titles.json changes."""
    return int(_catalogue_file()["version"])


def shipped_titles() -> list[Title]:
    """Returns the catalogue shipped as data, with ids fixed by key."""
    titles = []
    for entry in _catalogue_file()["titles"]:
        if entry["licensing"] not in LICENSING or entry["category"] not in CATEGORIES:
            raise ValueError(f"title {entry['key']}: unknown licensing or category")
        titles.append(
            Title(
                id=title_id(entry["key"]),
                key=entry["key"],
                vendor=entry["vendor"],
                name=entry["name"],
                category=entry["category"],
                edition=entry.get("edition"),
                licensing=entry["licensing"],
                domestic=entry["domestic"],
                patterns=tuple(entry["patterns"]),
            )
        )
    return titles


# --- hints for the unrecognized queue -------------------------------------------------------------


def suggest(name: str, titles: Iterable[Title], limit: int = 3) -> list[Title]:
    """Returns up to `limit` titles whose names are closest to a raw name, best first.

    Only a hint for the person mapping an unrecognized name; the decision itself stays with the patterns.
    """
    candidates = list(titles)
    return [candidates[i] for i in closest(name, [(t.name, t.edition) for t in candidates], limit)]
