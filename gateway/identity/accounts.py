"""Accounts that change: finding users, changing them (roles, org, disabling), passwords changed by
their owner or reset by an admin. Admin over the user's org; a user outside the caller's subtree
answers 404 as if it did not exist."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity import schemas
from gateway.identity.passwords import PasswordRules
from gateway.identity.service import (
    SOURCE,
    _require_admin,
    _verify_password,
    hash_password,
    visible_org,
)
from gateway.models import Org, User
from kernel import history
from kernel.auth import Principal
from kernel.contracts import UserChanged, UserDisabled
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from kernel.etags import check_if_match
from kernel.events import new_event
from kernel.ids import utcnow
from kernel.orgs import in_subtree
from kernel.outbox import add_event


def _require_reader(principal: Principal) -> None:
    """Admins manage users; auditors read them (who holds which role is what they audit)."""
    if "auditor" not in principal.roles:
        _require_admin(principal)


async def visible_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID, *,
                       write: bool = True) -> tuple[User, Org]:
    """The user and its org, for an admin over it (or an auditor, to read); 404 outside the
    caller's subtree, 403 inside it for anyone else."""
    found = (await session.execute(sa.select(User, Org).join(Org, Org.id == User.org_id)
                                   .where(User.id == user_id))).first()
    if found is None or not principal.covers(found[1].path):
        raise NotFound(f"no user {user_id} in your subtree")
    _require_admin(principal) if write else _require_reader(principal)
    return found[0], found[1]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_users_query(principal: Principal, org: Org | None, q: str | None) -> sa.Select:
    """The users of the caller's subtree (of `org`'s subtree when given) whose username, name or
    e-mail contains `q`, ignoring case."""
    _require_reader(principal)
    query = sa.select(User).join(Org, Org.id == User.org_id).where(in_subtree(Org.path, principal))
    if org is not None:
        query = query.where(Org.path.startswith(org.path, autoescape=True))
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        query = query.where(sa.or_(*(sa.func.lower(column).like(pattern, escape="\\")
                                     for column in (User.username, User.display_name, User.email))))
    return query


async def _root_admins_left(session: AsyncSession, root: Org, without: uuid.UUID) -> int:
    rows = (await session.execute(sa.select(User.roles).where(
        User.org_id == root.id, User.disabled_at.is_(None), User.id != without))).scalars().all()
    return sum("admin" in roles for roles in rows)


async def _guard_the_last_admin(session: AsyncSession, user: User, org: Org, stays_root_admin: bool) -> None:
    """Refuses (409) a change that would leave the installation without an enabled root admin."""
    if org.parent_id is not None or "admin" not in user.roles or user.disabled_at is not None or stays_root_admin:
        return
    # The root org's row is locked first: two admins disabling each other at once are serialized
    # here (SQLite's BEGIN IMMEDIATE already serializes every write), so one of them stays.
    root = (await session.execute(sa.select(Org).where(Org.id == org.id).with_for_update())).scalar_one()
    if await _root_admins_left(session, root, without=user.id) == 0:
        raise Conflict("this is the last enabled admin of the root org: make another first", slug="last-admin",
                       title="The last admin stays")


async def update_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID,
                      data: schemas.UserUpdate, *, if_match: str | None = None) -> User:
    user, org = await visible_user(session, principal, user_id)
    if check_if_match(if_match, user.etag):
        # Held to the version read: the row is locked and read again, so of two changes holding
        # one ETag the second waits for the first and then answers 412.
        await session.refresh(user, with_for_update=True)
        check_if_match(if_match, user.etag)
    sent = data.model_fields_set
    if "disabled" in sent and data.disabled and str(user.id) == principal.subject:
        raise Conflict("you cannot disable yourself", slug="self-disable", title="You cannot disable yourself")
    new_org = org
    if "org_id" in sent and data.org_id is not None and data.org_id != user.org_id:
        new_org = await visible_org(session, principal, data.org_id)
    roles = data.roles if "roles" in sent and data.roles is not None else user.roles
    disable = "disabled" in sent and data.disabled is not None and data.disabled != user.disabled
    await _guard_the_last_admin(session, user, org, stays_root_admin=(
        new_org.parent_id is None and "admin" in roles and not (disable and data.disabled)))

    changes: dict = {}
    for field in ("display_name", "email"):
        if field in sent and getattr(data, field) != getattr(user, field):
            changes[field] = getattr(data, field)
    if roles != user.roles:
        changes["roles"] = roles
    if new_org.id != user.org_id:
        changes["org_id"] = new_org.id
    now = utcnow()
    if disable:
        changes["disabled_at"] = now if data.disabled else None
    if not changes:
        return user
    for field, value in changes.items():
        setattr(user, field, value)
    user.updated_at = now
    changed = UserChanged(user_id=user.id, org_id=new_org.id, org_path=new_org.path, username=user.username,
                          roles=user.roles, disabled=user.disabled, changed_at=now)
    await add_event(session, new_event("identity.user.changed", changed, source=SOURCE, about=user.id))
    if disable and data.disabled:
        await add_event(session, new_event("identity.user.disabled", UserDisabled(**changed.model_dump()),
                                           source=SOURCE, about=user.id))
    action = "disabled" if disable and data.disabled else "enabled" if disable else "changed"
    await history.record(session, "user", user.id, action, principal,
                         {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in changes.items()
                          if k != "disabled_at"})
    await session.commit()
    return user


async def reset_password(session: AsyncSession, principal: Principal, user_id: uuid.UUID,
                         rules: PasswordRules) -> str:
    """Gives the user a one-time password (and lifts a lockout); returns it, shown this once."""
    user, _ = await visible_user(session, principal, user_id)
    temporary = rules.temporary()
    user.password_hash = await hash_password(temporary)
    user.must_change_password, user.temporary_used_at = True, None
    user.failed_sign_ins, user.failures_since, user.locked_until = 0, None, None
    user.updated_at = utcnow()
    await history.record(session, "user", user.id, "password_reset", principal)
    await session.commit()
    return temporary


async def change_own_password(session: AsyncSession, principal: Principal, data: schemas.PasswordChange,
                              rules: PasswordRules) -> User:
    """The caller's own password, given the current one. A wrong one is not counted against the
    lockout: whoever holds a token could otherwise lock its user out."""
    if principal.kind != "user":
        raise Forbidden("an API key has no password")
    user = await session.get(User, principal.user_id)
    if user is None or user.disabled:
        raise NotFound("no such user")
    if not await _verify_password(user.password_hash, data.old_password):
        raise Forbidden("the current password is wrong", slug="wrong-password", title="Wrong password")
    rules.check(data.new_password, user.username)
    if data.new_password == data.old_password:
        raise InvalidInput("the new password is the old one", slug="same-password", title="Choose a new password")
    user.password_hash = await hash_password(data.new_password)
    user.must_change_password, user.temporary_used_at = False, None
    user.updated_at = utcnow()
    await history.record(session, "user", user.id, "password_changed", principal)
    await session.commit()
    return user
