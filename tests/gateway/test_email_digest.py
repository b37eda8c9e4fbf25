"""E-mail digests: a finance user with an email is sent one digest naming the line that waits for
their approval, in Chinese (UTF-8), by a real SMTP server's account; a second round within the
hour sends nothing; a user without an email gets nothing. The line is a real one of the real
budget service, read through the gateway as the user."""

from __future__ import annotations

import contextlib
import email
import email.policy
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from gateway.notifications.models import EmailDigest
from tests.gateway.conftest import ADMIN_PASSWORD, token
from tests.support.apps import eventually, run_app, serving
from zhengban.ports import free_port
from zhengban.processes import app_module

ID = "/api/v1/identity"


class Mailbox:
    """aiosmtpd's handler: keeps each message as it arrived over SMTP."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@contextlib.contextmanager
def smtp_server():
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
async def stack(databases, nats, tmp_path):
    """The gateway (sending e-mail to the test's SMTP server, rounds run by the test) and the real
    budget service behind it, trusting the gateway's keys."""
    budget_port = free_port()
    with smtp_server() as (mailbox, smtp_port):
        async with run_app("gateway", database_url=await databases.fresh("gateway"), nats_url=nats.url,
                           data_dir=tmp_path, admin_password=ADMIN_PASSWORD, token_rate_burst=1000,
                           budget_url=f"http://127.0.0.1:{budget_port}", smtp_url=f"smtp://127.0.0.1:{smtp_port}",
                           smtp_from="正版化管理 <noreply@zhengban.test>", email_poll_seconds=3600) as gw:
            module = app_module("budget")
            budget = module.create_app(module.SETTINGS(database_url=await databases.fresh("budget"),
                                                       nats_url=nats.url, data_dir=tmp_path / "budget"),
                                       static_jwks=gw.app.state.signer.jwks)
            async with serving(budget, port=budget_port):
                yield gw, mailbox


async def add_user(gw, admin, username: str, org_id: str, roles: list[str], email: str | None = None) -> dict:
    body = {"username": username, "password": "password-long-1", "org_id": org_id, "roles": roles,
            "display_name": username, **({"email": email} if email else {})}
    resp = await gw.client.post(f"{ID}/users", headers=admin, json=body)
    assert resp.status_code == 201, resp.text
    return {"Authorization": f"Bearer {await token(gw.client, username, 'password-long-1')}"}


async def test_a_finance_user_gets_one_digest_an_hour_naming_the_line_that_waits(stack):
    gw, mailbox = stack
    admin = {"Authorization": f"Bearer {await token(gw.client, 'admin', ADMIN_PASSWORD)}"}
    root = (await gw.client.get(f"{ID}/me", headers=admin)).json()["org_id"]
    org = (await gw.client.post(f"{ID}/orgs", headers=admin,
                                json={"name": "省教育厅", "kind": "unit", "parent_id": root})).json()
    editor = await add_user(gw, admin, "editor", org["id"], ["budget_editor"], "editor@zhengban.test")
    await add_user(gw, admin, "finance", org["id"], ["finance"], "caiwu@zhengban.test")
    await add_user(gw, admin, "finance2", org["id"], ["finance"])  # no email: never written to

    line = {"org_id": org["id"], "fiscal_year": 2026, "category": "office", "title": "办公软件正版化采购",
            "quantity": 10, "unit_price_fen": 50_000}

    async def created():  # the budget service learns of the new org from its event
        resp = await gw.client.post("/api/v1/budget/lines", headers=editor, json=line)
        return resp.json() if resp.status_code == 201 else None

    made = await eventually(created)
    resp = await gw.client.post(f"/api/v1/budget/lines/{made['id']}/submit", headers=editor)
    assert resp.status_code == 200, resp.text

    assert await gw.app.state.digests.send_due() == 1
    (to, message), = mailbox.messages
    assert to == ["caiwu@zhengban.test"] and message["To"] == "caiwu@zhengban.test"
    assert message["Subject"] == "正版化管理：1 项事务等待您处理"
    assert "noreply@zhengban.test" in message["From"]
    body = message.get_body().get_content()
    assert "待审批的预算项：办公软件正版化采购（2026 年度）" in body and body.startswith("finance，您好")
    assert message.get_body().get_content_charset() == "utf-8"

    # Within the hour nothing more, even with something new waiting.
    second = await gw.client.post("/api/v1/budget/lines", headers=editor, json={**line, "title": "杀毒软件"})
    await gw.client.post(f"/api/v1/budget/lines/{second.json()['id']}/submit", headers=editor)
    assert await gw.app.state.digests.send_due() == 0
    assert len(mailbox.messages) == 1

    # An hour on, the next digest lists both; another hour on, with nothing new, none is sent.
    for expected in (1, 0):
        async with gw.db.session() as session, session.begin():
            digest = (await session.execute(sa.select(EmailDigest))).scalar_one()
            digest.sent_at -= timedelta(hours=2)
        assert await gw.app.state.digests.send_due() == expected
    assert len(mailbox.messages) == 2
    later = mailbox.messages[1][1]
    assert later["Subject"] == "正版化管理：2 项事务等待您处理" and "杀毒软件" in later.get_body().get_content()
