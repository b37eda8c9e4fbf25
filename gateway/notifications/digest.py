"""The e-mail digest: for each user with an `email`, what waits for them, sent over SMTP at most
once an hour and only when something waits that their last e-mail did not list.

What waits is asked of the services through the gateway's own public API, in-process, as the
user (a short token minted as at sign-in, like the console's): the services' visibility rules
decide what the person may see, and the gateway has no copy of the services' data or rules. The
roles only choose which questions are worth asking (a line waits for finance, a pool for an
it_admin). Sending is at most once: the digest row is claimed with a compare-and-set on its
previous `sent_at` before the SMTP call, so two gateways never both send one person's digest;
an SMTP failure gives the claim back, and the next round tries again."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from gateway.console.api import listed
from gateway.models import Org, User
from gateway.notifications.models import EmailDigest
from kernel.db import insert_rows
from kernel.ids import utcnow

log = logging.getLogger("zhengban.email")
AT_MOST_EVERY = timedelta(hours=1)
ENTITLEMENT_ENDS_WITHIN = timedelta(days=30)
FINDING_DUE_WITHIN = timedelta(days=7)
REPORT_DUE_WITHIN = timedelta(days=14)
TOKEN_SECONDS = 300
MAX_PER_KIND = 200  # a digest lists at most this many of one kind: more says "and more" in the console


@dataclass(frozen=True)
class Smtp:
    """`smtp://[user:password@]host[:port][?starttls=1]`, or `smtps://` for TLS from the start."""

    hostname: str
    port: int
    username: str | None
    password: str | None
    start_tls: bool
    use_tls: bool

    @classmethod
    def parse(cls, url: str) -> Smtp:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("ZHENGBAN_SMTP_URL must look like smtp://[user:password@]host[:port][?starttls=1]")
        query = parse_qs(parts.query)
        return cls(hostname=parts.hostname, port=parts.port or (465 if parts.scheme == "smtps" else 25),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   start_tls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
                   use_tls=parts.scheme == "smtps")

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(message, hostname=self.hostname, port=self.port, username=self.username,
                              password=self.password, start_tls=self.start_tls, use_tls=self.use_tls, timeout=30)


@dataclass(frozen=True)
class Waiting:
    key: str  # what it is, for "new since the last e-mail"
    text: str  # the line of the e-mail that names it


class Digests:
    def __init__(self, app: FastAPI, smtp: Smtp, sender: str):
        self.app, self.smtp, self.sender = app, smtp, sender

    async def send_due(self) -> int:
        """One round over every user with an email; returns how many e-mails went out."""
        db = self.app.state.db
        since = utcnow() - AT_MOST_EVERY
        async with db.session() as session:
            rows = (await session.execute(
                sa.select(User, Org, EmailDigest)
                .join(Org, Org.id == User.org_id)
                .outerjoin(EmailDigest, EmailDigest.user_id == User.id)
                .where(User.email.is_not(None), User.email != "", User.disabled_at.is_(None),
                       sa.or_(EmailDigest.sent_at.is_(None), EmailDigest.sent_at <= since))
                .order_by(User.id))).all()
        sent = 0
        for user, org, last in rows:
            try:
                sent += await self._one(user, org, last)
            except Exception:  # noqa: BLE001 - one person's failure must not stop the others' digests
                log.exception("e-mail digest for user %s failed", user.id)
        return sent

    async def _one(self, user: User, org: Org, last: EmailDigest | None) -> bool:
        waiting = await self.waiting_for(user, org)
        keys = sorted(w.key for w in waiting)
        if not set(keys) - set(last.listed if last else []):
            return False
        if not await self._claim(user.id, last, keys):
            return False  # another gateway took this round
        try:
            await self.smtp.send(self.message(user, waiting))
        except Exception:
            await self._give_back(user.id, last)
            raise
        return True

    async def _claim(self, user_id: uuid.UUID, last: EmailDigest | None, keys: list[str]) -> bool:
        now = utcnow()
        async with self.app.state.db.session() as session, session.begin():
            if last is None:
                result = await insert_rows(session, EmailDigest.__table__,
                                           [{"user_id": user_id, "listed": keys, "sent_at": now}], skip_conflicts=True)
            else:
                result = await session.execute(
                    sa.update(EmailDigest)
                    .where(EmailDigest.user_id == user_id, EmailDigest.sent_at == last.sent_at)
                    .values(listed=keys, sent_at=now))
            return result.rowcount == 1

    async def _give_back(self, user_id: uuid.UUID, last: EmailDigest | None) -> None:
        async with self.app.state.db.session() as session, session.begin():
            if last is None:
                await session.execute(sa.delete(EmailDigest).where(EmailDigest.user_id == user_id))
            else:
                await session.execute(sa.update(EmailDigest).where(EmailDigest.user_id == user_id)
                                      .values(listed=last.listed, sent_at=last.sent_at))

    def message(self, user: User, waiting: list[Waiting]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = user.email
        message["Subject"] = f"正版化管理：{len(waiting)} 项事务等待您处理"
        lines = [f"{user.display_name or user.username}，您好：", "", "以下事项等待您处理：", ""]
        lines += [f"- {w.text}" for w in waiting]
        lines += ["", "请登录控制台（/console/）查看。此邮件每小时至多发送一次，仅在有新事项时发送。"]
        message.set_content("\n".join(lines), charset="utf-8")
        return message

    async def waiting_for(self, user: User, org: Org) -> list[Waiting]:
        token, _ = self.app.state.signer.mint(subject=user.id, org_id=org.id, org_path=org.path, roles=user.roles,
                                              kind="user", name=user.username, ttl_seconds=TOKEN_SECONDS)
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 0))
        async with httpx.AsyncClient(transport=transport, base_url="http://digest", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            ask = Asker(http, user)
            kinds = []
            if "finance" in user.roles:
                kinds += [ask.lines(), ask.transfers()]
            if "it_admin" in user.roles:
                kinds += [ask.pools(), ask.entitlements(), ask.findings(), ask.annual_report(org)]
            found = await asyncio.gather(*kinds, return_exceptions=True)
        waiting = []
        for items in found:
            if isinstance(items, Exception):  # a service away: the rest still goes, it comes next round
                log.warning("e-mail digest for user %s: a service did not answer: %s", user.id, items)
                continue
            waiting += items
        return waiting


class Asker:
    """The questions of a digest, each one read of the public API as the user."""

    def __init__(self, http: httpx.AsyncClient, user: User):
        self.http, self.user = http, user

    async def _all(self, path: str, **params) -> list[dict]:
        items, cursor = [], None
        while len(items) < MAX_PER_KIND:
            resp = await self.http.get(path, params={**params, "limit": 100, **({"cursor": cursor} if cursor else {})})
            resp.raise_for_status()
            found, cursor = listed(resp.json())
            items += found
            if not cursor:
                break
        return items[:MAX_PER_KIND]

    async def lines(self) -> list[Waiting]:
        me = f"user:{self.user.id}"  # who submitted a line may not approve it: it waits for the others
        return [Waiting(f"line:{line['id']}", f"待审批的预算项：{line['title']}（{line['fiscal_year']} 年度）")
                for line in await self._all("/api/v1/budget/lines", status="submitted")
                if line.get("submitted_by") != me]

    async def transfers(self) -> list[Waiting]:
        me = f"user:{self.user.id}"
        return [Waiting(f"transfer:{t['id']}", f"待审批的预算调剂：{t['amount_fen'] / 100:.2f} 元，{t['reason']}")
                for t in await self._all("/api/v1/budget/transfers", status="pending") if t.get("requested_by") != me]

    async def pools(self) -> list[Waiting]:
        return [Waiting(f"pool:{p['id']}", f"许可池余量不足：{p['product_name']}，剩余 {p['available']} 个")
                for p in await self._all("/api/v1/licenses/pools")
                if p.get("low_threshold") is not None and p["available"] < p["low_threshold"]]

    async def entitlements(self) -> list[Waiting]:
        now = utcnow()
        return [Waiting(f"entitlement:{e['id']}", f"授权即将到期：{e['product_name']}，{e['valid_to'][:10]} 到期")
                for e in await self._all("/api/v1/licenses/entitlements")
                if e.get("valid_to") and now <= datetime.fromisoformat(e["valid_to"]) <= now + ENTITLEMENT_ENDS_WITHIN]

    async def findings(self) -> list[Waiting]:
        soon = date.today() + FINDING_DUE_WITHIN
        # Overdue is its own key: a finding listed as due soon is news again when it becomes overdue.
        return [Waiting(f"finding:{f['id']}:{'overdue' if f['overdue'] else 'due'}",
                        f"{'已逾期' if f['overdue'] else '即将到期'}的整改事项：{f['description'][:100]}，"
                        f"期限 {f['due_date']}")
                for f in await self._all("/api/v1/licenses/findings", status="open")
                if f["overdue"] or date.fromisoformat(f["due_date"]) <= soon]

    async def annual_report(self, org: Org) -> list[Waiting]:
        year = utcnow().year
        resp = await self.http.get("/api/v1/licenses/annual-reports", params={"org_id": str(org.id), "year": year,
                                                                           "limit": 1})
        resp.raise_for_status()
        body = resp.json()
        due_at = datetime.fromisoformat(body["due_at"])
        submitted = body.get("report") and body["report"].get("status") == "submitted"
        if submitted or utcnow() < due_at - REPORT_DUE_WITHIN:
            return []
        return [Waiting(f"annual_report:{org.id}:{year}", f"{year} 年度软件正版化工作报告尚未提交，"
                                                          f"截止 {body['due_at'][:10]}")]
