"""Orgs and users from a spreadsheet (a bureau's unit list, its staff list): `POST /orgs:import` and
`POST /users:import`, a row per org or user with the columns of `POST /orgs` and `POST /users`
(SPEC, "Data in and out"; the shared machinery is kernel.imports). Only admin imports, inside its
subtree, as only admin creates orgs and users.

An org is known by its name under its parent. Its parent is named by id or by name: an org of the
caller's subtree, or one an earlier row of the same file creates, so that one file holds a whole
tree (a bureau, its units under it). An org's kind does not change: a row naming an existing org
with another kind is an error.

A user is known by its username. A new user's password is the file's (held to the password rules,
and to be changed at the first sign-in, since the admin who wrote the file knows it) or none: such
a user signs in through single sign-on, or once an admin resets its password. A row for an
existing user sets its org, roles, name and e-mail as PATCH /users/{id} does; its password is
never changed by a file."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity import accounts, schemas
from gateway.identity.passwords import PasswordRules
from gateway.identity.service import SOURCE, _announce, _require_admin, hash_password, visible_org
from gateway.models import Org, User
from kernel import cells, history, imports
from kernel.api_schemas import RequestSchema
from kernel.auth import ADMINS, ROLES, Principal
from kernel.bounds import Text
from kernel.contracts import UserChanged, UserCreated
from kernel.db import among
from kernel.errors import Conflict, InvalidInput
from kernel.events import new_event
from kernel.ids import new_id, utcnow
from kernel.imports import Field, ImportOut, RowError
from kernel.orgs import OrgRef
from kernel.outbox import add_events

ORGS = Org.__table__
KIND_WORDS = {"财政部门": "finance_bureau", "财政局": "finance_bureau", "财政厅": "finance_bureau",
              "预算单位": "unit", "单位": "unit", "国资委": "sasac", "国有企业集团": "soe_group", "集团": "soe_group",
              "企业": "enterprise", "采购中心": "procurement_center", "供应商": "supplier"} | {
    kind: kind for kind in ("finance_bureau", "unit", "sasac", "soe_group", "enterprise", "procurement_center",
                            "supplier")}
ROLE_WORDS = {"系统管理员": "admin", "管理员": "admin", "财务审批": "finance", "财务": "finance",
              "预算编制": "budget_editor", "采购经办": "procurement", "采购": "procurement", "谈判评审": "negotiator",
              "供应商": "supplier", "信息化管理": "it_admin", "信息化": "it_admin", "审计": "auditor",
              "审计（只读）": "auditor", "审计(只读)": "auditor", "普通职工": "staff", "职工": "staff"} | {
    role: role for role in ROLES}
# An org's password cell left empty: a hash no password matches (argon2 refuses it as malformed).
NO_PASSWORD = "!imported-without-password"

ORG_FIELDS = (Field("name", "单位名称"),
              Field("kind", "类型", cells.choice(
                  KIND_WORDS, "财政部门/预算单位/国资委/国有企业集团/企业/采购中心/供应商")),
              Field("parent_id", "上级单位"))
ORG_REQUIRED = (("name",), ("kind",))


class OrgRow(RequestSchema):
    name: Text(200)
    kind: schemas.OrgKind
    parent_id: Text(200) | None = None  # the parent's id or name, resolved below


def read_roles(value: str) -> list[str]:
    """预算编制、信息化管理 or budget_editor, it_admin: the roles one cell lists."""
    read = cells.choice(ROLE_WORDS, "系统管理员/财务审批/预算编制/采购经办/谈判评审/供应商/信息化管理/审计/普通职工")
    return sorted({read(word) for word in re.split(r"[,，、;；/\s]+", value) if word})


USER_FIELDS = (Field("username", "用户名"), Field("display_name", "姓名"), Field("roles", "角色", read_roles),
               Field("email", "电子邮箱"), Field("org_id", "单位"), Field("password", "初始密码"))
USER_REQUIRED = (("username",), ("roles",))


class UserRow(schemas.UserCreate):
    password: schemas.Password | None = None


@dataclass
class Placed:
    """Where a row's org sits: its parent's id and path, and whether the parent exists already."""

    parent_id: uuid.UUID
    parent_path: str
    exists: bool


async def _default_org(session: AsyncSession, principal: Principal, org_id: uuid.UUID | None) -> OrgRef | None:
    _require_admin(principal)
    if org_id is None:
        return None
    org = await visible_org(session, principal, org_id)
    return OrgRef(org.id, org.parent_id, org.name, org.kind, org.path)


async def import_orgs(session: AsyncSession, principal: Principal, org_id: uuid.UUID | None, upload, *,
                      dry_run: bool, english: bool) -> ImportOut:
    default = await _default_org(session, principal, org_id)
    table = await imports.read(upload, ORG_FIELDS, ORG_REQUIRED)
    rows, errors = await imports.parsed_rows(session, principal, table, ORG_FIELDS, OrgRow, key=None,
                                             key_column="name", org=None, roles=ADMINS, org_field=None)
    named = await imports.rows_orgs(session, None, principal, {r.data.parent_id for r in rows if r.data.parent_id},
                                    table=ORGS)
    in_file: dict[str, list[int]] = {}  # a name → the rows of the file that create an org of it
    for row in rows:
        in_file.setdefault(row.data.name, []).append(row.number)
    existing: dict[tuple[uuid.UUID, str], Org] = {}
    looked: set[uuid.UUID] = set()

    async def children_of(parent_ids: set[uuid.UUID]) -> None:
        """The orgs of the file's names under these parents, read once their rows are locked."""
        ids = parent_ids - looked
        looked.update(ids)
        await imports.take_turns(session, ids, table=ORGS)
        for condition in among(session, Org.name, sorted(in_file)):
            for org in (await session.scalars(sa.select(Org).where(condition, Org.parent_id.in_(ids)))).all():
                existing[(org.parent_id, org.name)] = org

    await children_of({ref.id for ref in named.values() if ref} | ({default.id} if default else set()))
    placed: dict[int, Placed] = {}  # a row → where the org it names sits, once resolved
    first_of: dict[tuple[uuid.UUID, str], int] = {}
    new: list[Org] = []
    unchanged = 0
    for row in rows:
        text = row.data.parent_id
        if text is None:
            if default is None:
                errors.append(RowError(row.number, "parent_id", "no-org"))
                continue
            parent = Placed(default.id, default.path, True)
        elif named.get(text):
            parent = Placed(named[text].id, named[text].path, True)
        elif text in named:
            errors.append(RowError(row.number, "parent_id", "ambiguous-org", {"value": text}))
            continue
        elif len(earlier := [n for n in in_file.get(text, []) if n < row.number]) == 1 and earlier[0] in placed:
            parent = placed[earlier[0]]  # an org an earlier row of this file names
        else:
            errors.append(RowError(row.number, "parent_id", "unknown-org", {"value": text}))
            continue
        key = (parent.parent_id, row.data.name)
        if key in first_of:
            errors.append(RowError(row.number, "name", "duplicate", {"first": first_of[key]}))
            continue
        first_of[key] = row.number
        if parent.exists and parent.parent_id not in looked:
            # A parent an earlier row names that another import created since this one read the tree.
            await children_of({parent.parent_id})
        org = existing.get(key) if parent.exists else None
        if org is not None:
            if org.kind != row.data.kind:
                errors.append(RowError(row.number, "kind", "other-kind", {"value": org.kind}))
                continue
            unchanged += 1
            placed[row.number] = Placed(org.id, org.path, True)
        else:
            org_id = new_id()
            new.append(Org(id=org_id, parent_id=parent.parent_id, name=row.data.name, kind=row.data.kind,
                           path=f"{parent.parent_path}{org_id.hex}/"))
            placed[row.number] = Placed(org_id, new[-1].path, False)
    imports.refuse(errors, english)
    if not dry_run:
        session.add_all(new)
        await session.flush()
        for org in new:  # parents before children, as the file lists them
            await _announce(session, org, "identity.org.created")
        await history.record_each(session, "org", [
            (org.id, "created", principal, {"name": org.name, "kind": org.kind, "imported": True}) for org in new])
        await session.commit()
    else:
        await session.rollback()
    return imports.counts(len(new), 0, unchanged, dry_run)


async def import_users(session: AsyncSession, principal: Principal, org_id: uuid.UUID | None, upload,
                       rules: PasswordRules, *, dry_run: bool, english: bool) -> ImportOut:
    default = await _default_org(session, principal, org_id)
    table = await imports.read(upload, USER_FIELDS, USER_REQUIRED)
    rows, errors = await imports.parsed_rows(session, principal, table, USER_FIELDS, UserRow, org=default,
                                             key=lambda d: d.username.casefold(), key_column="username",
                                             roles=ADMINS, org_table=ORGS)
    for row in rows:
        if row.data.password is not None:
            try:
                rules.check(row.data.password, row.data.username)
            except InvalidInput:
                errors.append(RowError(row.number, "password", "weak-password",
                                       {"length": rules.min_length, "classes": rules.min_classes}))
    await imports.take_turns(session, [row.org.id for row in rows], table=ORGS)
    existing: dict[str, tuple[User, Org]] = {}
    for condition in among(session, User.username, sorted({row.data.username for row in rows})):
        for user, org in (await session.execute(sa.select(User, Org).join(Org, Org.id == User.org_id)
                                                .where(condition))).all():
            existing[user.username] = (user, org)
    created, updated, unchanged = [], [], 0
    for row in rows:
        found = existing.get(row.data.username)
        if found is None:
            created.append(row)
        elif not principal.covers(found[1].path):
            # As POST /users answers for a username taken anywhere (usernames are unique).
            errors.append(RowError(row.number, "username", "username-taken", {"value": row.data.username}))
        elif (found[0].org_id, sorted(found[0].roles), found[0].display_name, found[0].email) == (
                row.data.org_id, row.data.roles, row.data.display_name, row.data.email):
            unchanged += 1
        else:
            updated.append((found, row))
    imports.refuse(errors, english)
    if dry_run:
        await session.rollback()
        return imports.counts(len(created), len(updated), unchanged, True)

    now = utcnow()
    users = [User(username=row.data.username, org_id=row.data.org_id, roles=row.data.roles,
                  display_name=row.data.display_name, email=row.data.email,
                  password_hash=await hash_password(row.data.password) if row.data.password else NO_PASSWORD,
                  must_change_password=row.data.password is not None) for row in created]
    session.add_all(users)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("a username of the file was taken meanwhile; import the file again", slug="username-taken",
                       title="Username taken") from exc
    events = [new_event("identity.user.created", UserCreated(
        user_id=user.id, org_id=row.org.id, org_path=row.org.path, username=user.username), source=SOURCE,
        about=user.id) for user, row in zip(users, created, strict=True)]
    entries = [(user.id, "created", principal, {"roles": user.roles, "imported": True}) for user in users]
    for (user, org), row in updated:
        # The installation keeps an enabled root admin, as PATCH /users/{id} makes sure.
        await accounts._guard_the_last_admin(session, user, org, stays_root_admin=(
            row.org.parent_id is None and "admin" in row.data.roles))
        changes = {name: getattr(row.data, name) for name in ("org_id", "roles", "display_name", "email")
                   if getattr(row.data, name) != (sorted(user.roles) if name == "roles" else getattr(user, name))}
        for name, value in changes.items():
            setattr(user, name, value)
        user.updated_at = now
        events.append(new_event("identity.user.changed", UserChanged(
            user_id=user.id, org_id=row.org.id, org_path=row.org.path, username=user.username, roles=user.roles,
            disabled=user.disabled, changed_at=now), source=SOURCE, about=user.id))
        entries.append((user.id, "changed", principal, {
            **{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in changes.items()}, "imported": True}))
    await add_events(session, events)
    await history.record_each(session, "user", entries)
    await session.commit()
    return imports.counts(len(created), len(updated), unchanged, False)
