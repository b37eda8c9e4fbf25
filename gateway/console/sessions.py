"""Console sign-in sessions, kept on the server: the browser holds only a random id in an HttpOnly
cookie, never the access token, so no script on the page can read or send it elsewhere.

Sessions live in this gateway process's memory: a restart signs everyone out, and several gateway
replicas need sticky sessions (documented in docs/console.md)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

IDLE_SECONDS = 30 * 60


@dataclass
class ConsoleSession:
    id: str
    token: str
    token_expires: float
    username: str
    password_hint: str = field(repr=False, default="")
    me: dict = field(default_factory=dict)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    last_seen: float = field(default_factory=time.monotonic)

    @property
    def roles(self) -> set[str]:
        return set(self.me.get("roles", ()))

    def may(self, *roles: str) -> bool:
        """Whether to show an action: the user holds one of `roles` (or admin) and is not only an auditor."""
        return self.roles != {"auditor"} and bool(self.roles & ({"admin"} | set(roles)))


class SessionStore:
    def __init__(self, idle_seconds: float = IDLE_SECONDS):
        self.idle_seconds = idle_seconds
        self._sessions: dict[str, ConsoleSession] = {}

    def create(self, token: str, expires_in: int, username: str, me: dict) -> ConsoleSession:
        session = ConsoleSession(secrets.token_urlsafe(32), token, time.monotonic() + expires_in, username, me=me)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> ConsoleSession | None:
        session = self._sessions.get(session_id or "")
        if session is None:
            return None
        now = time.monotonic()
        # Idle too long, or its access token has run out: signed out.
        if now - session.last_seen > self.idle_seconds or now > session.token_expires - 5:
            self._sessions.pop(session.id, None)
            return None
        session.last_seen = now
        return session

    def end(self, session_id: str | None) -> None:
        self._sessions.pop(session_id or "", None)
