"""The one rule of who may write: the services' Principal and the console's buttons share it."""

from __future__ import annotations

import uuid

import pytest

from gateway.console.sessions import ConsoleSession
from kernel.auth import Principal, may_act
from kernel.errors import Forbidden


def principal(*roles: str, org_path: str = "/root/unit/") -> Principal:
    return Principal(subject=str(uuid.uuid4()), org_id=uuid.uuid4(), org_path=org_path, roles=frozenset(roles))


def test_an_auditor_never_acts_and_hears_why():
    auditor = principal("auditor")
    assert auditor.is_auditor and not auditor.has_any("finance") and not auditor.may("/root/unit/", "finance")
    with pytest.raises(Forbidden, match="auditors read, never write"):
        auditor.require("/root/unit/", "finance")
    with pytest.raises(Forbidden, match="auditors read, never write"):
        auditor.refuse_auditor()


def test_an_auditor_who_also_holds_a_role_acts_with_it():
    both = principal("auditor", "finance")
    assert not both.is_auditor
    both.require("/root/unit/child/", "finance")
    both.refuse_auditor()
    with pytest.raises(Forbidden, match="needs the role budget_editor"):
        both.require("/root/unit/", "budget_editor")


def test_admin_acts_as_any_role_but_only_in_its_subtree():
    admin = principal("admin")
    admin.require("/root/unit/child/", "finance")
    with pytest.raises(Forbidden, match="over the object's org"):
        admin.require("/root/other/", "finance")


@pytest.mark.parametrize(("roles", "wanted", "acts"), [
    ({"auditor"}, ("finance",), False), ({"auditor"}, ("auditor",), False), ({"admin"}, ("finance",), True),
    ({"finance"}, ("finance", "budget_editor"), True), ({"finance"}, ("budget_editor",), False),
    ({"auditor", "finance"}, ("finance",), True), (set(), ("finance",), False),
])
def test_the_console_shows_an_action_to_those_the_service_lets_act(roles, wanted, acts):
    session = ConsoleSession(id="s", token="t", token_expires=0, username="u", me={"roles": sorted(roles)})
    assert may_act(roles, *wanted) is acts and session.may(*wanted) is acts
    assert principal(*roles).has_any(*wanted) is acts
