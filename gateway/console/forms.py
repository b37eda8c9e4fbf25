"""What a posted form may carry: money typed in 元, the key that makes a double click one action, and
where to go afterwards."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation

MAX_FEN = 10**15  # well above any budget; keeps a typo of twenty digits out of the API


class BadInput(ValueError):
    """A field a person typed that the console cannot turn into what the API takes; `key` names
    the sentence (in i18n.WORDS) that says what is wrong."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def fen(text: str | None) -> int:
    """元 as typed ("1,234.5", "600", "0.01") to integer fen, exactly: through Decimal, never a float.
    More than two decimals is refused rather than rounded; so are zero and negative amounts."""
    cleaned = (text or "").strip().replace(",", "").replace("，", "").replace(" ", "")
    if not re.fullmatch(r"\d+(\.\d*)?|\.\d+", cleaned):
        raise BadInput("bad_money")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as exc:
        raise BadInput("bad_money") from exc
    if amount.as_tuple().exponent < -2:
        raise BadInput("money_decimals")
    value = int(amount * 100)
    if value <= 0 or value > MAX_FEN:
        raise BadInput("bad_money")
    return value


def whole(text: str | None, *, minimum: int = 0) -> int:
    try:
        value = int(str(text or "").strip())
    except ValueError as exc:
        raise BadInput("bad_number") from exc
    if value < minimum:
        raise BadInput("bad_number")
    return value


def day_end(text: str | None) -> str | None:
    """A day as typed (2027-06-30) to its last second in Beijing time, as the API takes a moment:
    "valid until the 30th" includes the 30th. Blank: None."""
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    try:
        day = date.fromisoformat(cleaned)
    except ValueError as exc:
        raise BadInput("bad_date") from exc
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone(timedelta(hours=8))).isoformat()


def new_form_key() -> str:
    """One Idempotency-Key per rendered form, carried in a hidden field: a double click, or a
    resend after a lost answer, posts the same key, and the API replays the first result."""
    return str(uuid.uuid4())


def form_key(form: dict) -> str:
    key = str(form.get("form_key") or "")
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return new_form_key()  # an old page without the field: still one action per post


def console_path(target: object, fallback: str = "/console/") -> str:
    """Where a form may send the browser afterwards: a path of the console, nothing else (no other
    host, no scheme, no `//evil`, no backslash tricks)."""
    text = str(target or "")
    if (text == "/console" or text.startswith("/console/")) and "\\" not in text and "//" not in text \
            and not any(ord(c) < 32 for c in text):
        return text
    return fallback
