"""Software names as detection tools print them, folded to one form: what the catalogue's patterns are
written against (services/licenses/catalogue/recognition.py), and what the console writes a pattern from
when a person maps a raw name to a title. In the kernel so the gateway can fold a name the way the
licenses service does without importing it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rapidfuzz import fuzz, process

_TRADEMARKS = re.compile(r"[®©™℠]|\((?:r|tm|c)\)")
# Chinese characters count as word characters, so "用友U8" has no word boundary before "u8": a space between
# Chinese and Latin letters or digits lets patterns use \b on either side ("用友 u8", "pkpm 结构设计").
_CJK_LATIN = re.compile(r"(?<=[\u3400-\u9fff])(?=[a-z0-9])|(?<=[a-z0-9])(?=[\u3400-\u9fff])")
_LANGUAGE_CODES = re.compile(
    r"\b(?:zh|en|ja|ko|de|fr|es|it|pt|ru|nl|pl|sv|tr|ar|he|th|vi|id|ms|cs|da|fi|nb|el|hu|ro|uk)"
    r"[-_](?:cn|tw|hk|sg|mo|us|gb|au|ca|jp|kr|de|at|ch|fr|be|es|mx|it|br|pt|ru|nl|pl|se|tr|sa|il|th|vn"
    r"|id|my|cz|dk|fi|no|gr|hu|ro|ua|hans|hant)\b"
)
# Language names as installers append them. "中文版" also turns "家庭中文版" (Windows Home, China) into
# "家庭", which the Home patterns expect.
_LANGUAGE_WORDS = re.compile(
    r"简体中文版?|繁體中文版?|繁体中文版?|中文版|英文版|多语言版?|多國語言版?"
    r"|\(\s*(?:中文|简体|繁体|英文)\s*\)"
    r"|\bchinese[ (]*(?:simplified|traditional|prc|taiwan)\)?|\b(?:simplified|traditional) chinese\b"
    r"|\(\s*chinese\s*\)|\benglish\b|\bmultilingual\b|\bmui\s+\(\s*\)"
)
_ARCHITECTURES = re.compile(
    r"\b(?:x86[ -]?64|x64|x86|amd64|arm64|aarch64|ia64|win64|win32|i[36]86)\b"
    r"|\b(?:64|32)[ -]?bits?(?: edition)?\b|\b(?:64|32)[ -]?位版?"
)
# Versions and builds. "Windows 8.1" is the one product whose identity is a dotted number, so a dotted
# number right after "windows" stays.
_VERSIONS = re.compile(
    r"\b(?:build|版本号?|version|ver|rev)[ .:]*\d[\w.]*"
    r"|(?<!windows )(?<!windows)\bv?\d+(?:\.\d+)+[a-z]?\d*\b"
    r"|\bv\d+[a-z]?\b"
)
_EMPTY_BRACKETS = re.compile(r"\(\s*[-,;:]*\s*\)|\[\s*\]|【\s*】|\{\s*\}")
_SEPARATORS = re.compile(r"\s+-+\s+|\s+-+$|^-+\s+|\s*[|,;]\s*")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Folds a raw name to the form patterns are written against."""
    s = _TRADEMARKS.sub("", text)
    s = unicodedata.normalize("NFKC", s).casefold()
    s = _TRADEMARKS.sub("", s)  # "(R)" written in full-width letters only shows after NFKC
    s = _CJK_LATIN.sub(" ", s.replace("_", " "))
    s = _LANGUAGE_CODES.sub(" ", s)
    s = _LANGUAGE_WORDS.sub(" ", s)
    s = _ARCHITECTURES.sub(" ", s)
    s = _VERSIONS.sub(" ", s)
    for _ in range(2):  # "( - )" and "(())" empty out in two passes
        s = _EMPTY_BRACKETS.sub(" ", s)
        s = _SEPARATORS.sub(" ", f" {s} ")
    return _SPACES.sub(" ", s).strip(" -–—:.,;/")


def exact_pattern(name: str) -> str:
    """Returns the pattern that recognizes exactly this name (after normalize()), as a person maps it."""
    return "^" + re.escape(normalize(name)).replace("\\ ", " ") + "$"


SUGGESTION_CUTOFF = 60.0  # rapidfuzz's 0–100 similarity; below it a hint is noise


def closest(name: str, titles: Sequence[tuple[str, str | None]], limit: int = 3) -> list[int]:
    """Returns the positions of up to `limit` (name, edition) pairs closest to a raw name, best first:
    a hint for the person mapping an unrecognized name, never a decision."""
    # Name and edition without the vendor: raw names rarely carry the vendor, and a vendor shared by many
    # titles would pull them all up. Token sets, so word order ("Office 2016 专业增强版" / "Office 专业增强版
    # 2016") and extra words ("客户端") weigh little.
    choices = [normalize(" ".join(filter(None, pair))) for pair in titles]
    found = process.extract(normalize(name), choices, scorer=fuzz.token_set_ratio, limit=limit,
                            score_cutoff=SUGGESTION_CUTOFF)
    return [index for _choice, _score, index in found]
