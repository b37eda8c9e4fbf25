"""Identity use-cases: orgs, users, API keys, sign-in."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity import schemas
from gateway.identity.passwords import PasswordRules
from gateway.models import ApiKey, Org, User
from kernel import history
from kernel.auth import ADMINS, Principal
from kernel.contracts import OrgChanged, UserCreated
from kernel.db import UTCDateTime
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed, Unauthorized
from kernel.etags import check_if_match, etag
from kernel.events import new_event
from kernel.ids import new_id, utcnow
from kernel.orgs import in_subtree
from kernel.outbox import add_event

SOURCE = "zhengban/gateway"
API_KEY_PREFIX = "zb_"

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps sign-in time the same either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def _require_admin(principal: Principal) -> None:
    if not ADMINS.held_by(principal):
        raise Forbidden("only admin manages orgs, users and API keys")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def visible_org(session: AsyncSession, principal: Principal, org_id: uuid.UUID) -> Org:
    org = await session.get(Org, org_id)
    if org is None or not principal.covers(org.path):
        raise NotFound(f"no org {org_id} in your subtree")
    return org


async def names(session: AsyncSession, principal: Principal, ids: list[uuid.UUID],
                crossing: Callable[[list[uuid.UUID]], Awaitable[set[uuid.UUID]]]) -> list[schemas.Name]:
    """What people read instead of ids, for the ids the caller may see and no others: an org of its
    subtree or above it, a user or API key of one, and those `crossing` says it meets where SPEC's visibility
    crosses subtrees (joint procurement: the procurement service knows which). Any other id is
    absent from the answer, as an unknown one is: a name would tell who sits behind an id the caller
    was never shown (a rival supplier, the people of another tree). One query per kind."""
    if not ids:
        return []
    found: list[tuple[str, schemas.Name]] = [
        (o.path, schemas.Name(id=o.id, kind="org", name=o.name))
        for o in (await session.scalars(sa.select(Org).where(Org.id.in_(ids)))).all()]
    found += [(path, schemas.Name(id=u.id, kind="user", name=u.display_name or u.username))
              for u, path in (await session.execute(sa.select(User, Org.path).join(Org, Org.id == User.org_id)
                                                    .where(User.id.in_(ids)))).all()]
    found += [(path, schemas.Name(id=k.id, kind="api_key", name=k.name))
              for k, path in (await session.execute(sa.select(ApiKey, Org.path).join(Org, Org.id == ApiKey.org_id)
                                                    .where(ApiKey.id.in_(ids)))).all()]
    outside = [name.id for path, name in found if not _in_line(principal, path)]
    met = await crossing(outside) if outside else set()
    return [name for path, name in found if _in_line(principal, path) or name.id in met]


def _in_line(principal: Principal, path: str) -> bool:
    """An org of the caller's subtree or one above it (its finance bureau, its group): the people
    there approve, return and close the caller's objects, and a unit knows who its superiors are."""
    return principal.covers(path) or principal.org_path.startswith(path)


async def create_org(session: AsyncSession, principal: Principal, data: schemas.OrgCreate) -> Org:
    parent = await visible_org(session, principal, data.parent_id)
    _require_admin(principal)
    org_id = new_id()
    org = Org(id=org_id, parent_id=parent.id, name=data.name, kind=data.kind, path=f"{parent.path}{org_id.hex}/")
    session.add(org)
    await session.flush()
    await _announce(session, org, "identity.org.created")
    await history.record(session, "org", org.id, "created", principal, {"name": org.name, "kind": org.kind})
    await session.commit()
    return org


def org_etag(org: Org) -> str:
    """Every change of an org moves its `updated_at`: the version a PATCH holds to."""
    return etag(org.id, org.updated_at)


async def rename_org(session: AsyncSession, principal: Principal, org_id: uuid.UUID, data: schemas.OrgUpdate,
                     *, if_match: str | None = None) -> Org:
    org = await visible_org(session, principal, org_id)
    _require_admin(principal)
    # Checked against the version read here, and the write is a compare-and-set on that version:
    # of two renames holding one ETag, one applies and the other answers 412.
    holds = check_if_match(if_match, org_etag(org))
    version = [Org.updated_at == org.updated_at] if holds else []
    renamed = await session.execute(sa.update(Org).where(Org.id == org.id, *version)
                                    .values(name=data.name, updated_at=utcnow()))
    if renamed.rowcount != 1:
        raise PreconditionFailed("someone changed this org since you read it: read it again, then retry")
    await session.refresh(org)
    await _announce(session, org, "identity.org.updated")
    await history.record(session, "org", org.id, "renamed", principal, {"name": org.name})
    await session.commit()
    return org


async def _announce(session: AsyncSession, org: Org, subject: str) -> None:
    payload = OrgChanged(org_id=org.id, name=org.name, kind=org.kind, parent_id=org.parent_id, path=org.path)
    await add_event(session, new_event(subject, payload, source=SOURCE, about=org.id))


def list_orgs_query(principal: Principal) -> sa.Select:
    return sa.select(Org).where(in_subtree(Org.path, principal))


async def create_user(session: AsyncSession, principal: Principal, data: schemas.UserCreate,
                      rules: PasswordRules) -> User:
    org = await visible_org(session, principal, data.org_id)
    _require_admin(principal)
    rules.check(data.password, data.username)
    user = User(username=data.username, password_hash=await hash_password(data.password), org_id=data.org_id,
                roles=data.roles, display_name=data.display_name, email=data.email)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"the username {data.username!r} is taken", slug="username-taken",
                       title="Username taken") from exc
    # Services that give things to users (seats) learn of them from this event.
    await add_event(session, new_event("identity.user.created", UserCreated(
        user_id=user.id, org_id=org.id, org_path=org.path, username=user.username), source=SOURCE, about=user.id))
    await history.record(session, "user", user.id, "created", principal, {"roles": data.roles})
    await session.commit()
    return user


async def create_api_key(session: AsyncSession, principal: Principal,
                         data: schemas.ApiKeyCreate) -> tuple[ApiKey, str]:
    await visible_org(session, principal, data.org_id)
    _require_admin(principal)
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    if data.expires_at is not None and data.expires_at <= utcnow():
        raise InvalidInput("expires_at is in the past", slug="invalid-input")
    api_key = ApiKey(name=data.name, org_id=data.org_id, roles=data.roles, key_hash=hash_api_key(key),
                     prefix=key[:10], created_by=history.actor_of(principal), expires_at=data.expires_at)
    session.add(api_key)
    await session.flush()
    await history.record(session, "api_key", api_key.id, "created", principal,
                         {"roles": data.roles, "expires_at": data.expires_at and data.expires_at.isoformat()})
    await session.commit()
    return api_key, key


def list_api_keys_query(principal: Principal) -> sa.Select:
    _require_admin(principal)
    return (sa.select(ApiKey).join(Org, Org.id == ApiKey.org_id)
            .where(in_subtree(Org.path, principal), ApiKey.deleted_at.is_(None)))


async def delete_api_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> None:
    api_key = await session.get(ApiKey, key_id)
    org = await session.get(Org, api_key.org_id) if api_key else None
    if api_key is None or api_key.deleted_at is not None or org is None or not principal.covers(org.path):
        raise NotFound("no such API key")
    _require_admin(principal)
    api_key.deleted_at = utcnow()
    await history.record(session, "api_key", api_key.id, "deleted", principal)
    await session.commit()


@dataclass(frozen=True)
class Lockout:
    """The per-username rule against guessing: `failures` within `window` lock for `duration`."""

    failures: int
    window: timedelta
    duration: timedelta

    @classmethod
    def of(cls, settings) -> Lockout:
        return cls(settings.lockout_failures, timedelta(minutes=settings.lockout_window_minutes),
                   timedelta(minutes=settings.lockout_minutes))


class SignInRefused(Unauthorized):
    """A refused sign-in. Every reason answers the same 401, so a guesser cannot tell a locked,
    disabled or unknown user from a wrong password; the reason is for the audit log only."""

    def __init__(self, reason: str, *, user: User | None = None, locked_now: bool = False):
        super().__init__("wrong username or password", slug="invalid-credentials", title="Sign-in failed")
        self.reason, self.user, self.locked_now = reason, user, locked_now


async def authenticate(session: AsyncSession, username: str, password: str,
                       lockout: Lockout) -> tuple[User, Org]:
    """Checks a password sign-in, counting a failure against the username's lockout."""
    user = (await session.execute(sa.select(User).where(User.username == username))).scalar_one_or_none()
    # The read's transaction ends before the slow hash check: on SQLite every transaction holds the
    # database's write lock, and an office signing in at once must not queue behind each hash.
    if user is not None:
        session.expunge(user)  # kept as read, not expired by the rollback
    await session.rollback()
    now = utcnow()
    refusal = ("unknown_user" if user is None else "disabled" if user.disabled_at is not None
               else "locked" if user.locked_until is not None and user.locked_until > now
               else "one_time_password_used" if user.must_change_password and user.temporary_used_at else None)
    # The hash is checked in every case, so a refusal takes as long whatever its reason.
    matches = await _verify_password(user.password_hash if user and not refusal else _DUMMY_HASH, password)
    if refusal:
        raise SignInRefused(refusal, user=user)
    if not matches:
        locked_now = await _count_failure(session, user.id, now, lockout)
        await session.commit()
        raise SignInRefused("wrong_password", user=user, locked_now=locked_now)
    if user.must_change_password:
        # A one-time password signs in once: of two sign-ins racing with it, one wins.
        used = await session.execute(sa.update(User).where(User.id == user.id, User.temporary_used_at.is_(None))
                                     .values(temporary_used_at=now, updated_at=User.updated_at))
        if used.rowcount != 1:
            await session.rollback()
            raise SignInRefused("one_time_password_used", user=user)
    if user.failed_sign_ins or user.must_change_password:
        await session.execute(sa.update(User).where(User.id == user.id)
                              .values(failed_sign_ins=0, failures_since=None, updated_at=User.updated_at))
        await session.commit()
    org = await session.get(Org, user.org_id)
    return user, org


async def _count_failure(session: AsyncSession, user_id: uuid.UUID, now, lockout: Lockout) -> bool:
    """Counts one failed sign-in; returns True when it is the one that locks the user.

    Counted by conditional UPDATEs, not read-then-write: parallel guesses must each count (on
    PostgreSQL the first UPDATE holds the row until the commit), and only one of them locks."""
    fresh = sa.and_(User.failures_since.is_not(None), User.failures_since > now - lockout.window)
    counted = (await session.execute(
        sa.update(User).where(User.id == user_id)
        .values(failed_sign_ins=sa.case((fresh, User.failed_sign_ins + 1), else_=1),
                failures_since=sa.case((fresh, User.failures_since), else_=sa.literal(now, UTCDateTime())),
                updated_at=User.updated_at)
        .returning(User.failed_sign_ins))).scalar_one()
    if counted < lockout.failures:
        return False
    locked = await session.execute(
        sa.update(User).where(User.id == user_id, User.failed_sign_ins >= lockout.failures)
        .values(locked_until=now + lockout.duration, failed_sign_ins=0, failures_since=None,
                updated_at=User.updated_at))
    return locked.rowcount == 1


async def user_for_single_sign_on(session: AsyncSession, username: str) -> User | None:
    """The user a single sign-on names (the provider vouched for the person); None if none has
    that username. Disabled users are returned: the caller refuses them, and says why in the log."""
    if not username:
        return None
    return (await session.execute(sa.select(User).where(User.username == username))).scalar_one_or_none()


async def principal_for_api_key(session: AsyncSession, key: str) -> tuple[ApiKey, Org]:
    row = (await session.execute(
        sa.select(ApiKey, Org).join(Org, Org.id == ApiKey.org_id)
        .where(ApiKey.key_hash == hash_api_key(key), ApiKey.deleted_at.is_(None),
               sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > utcnow()))
    )).first()
    if row is None:
        raise Unauthorized("this API key is not valid (deleted, expired or never issued)", slug="invalid-api-key",
                           title="Invalid API key")
    return row[0], row[1]


LAST_USED_PRECISION = timedelta(minutes=1)


async def note_api_key_use(session: AsyncSession, api_key: ApiKey) -> None:
    """Sets `last_used_at`, at most once a minute per key: a busy script's key must not turn every
    request into a write (a conditional UPDATE, so replicas racing on one key write it once)."""
    now = utcnow()
    if api_key.last_used_at is not None and api_key.last_used_at > now - LAST_USED_PRECISION:
        return
    await session.execute(sa.update(ApiKey).where(
        ApiKey.id == api_key.id,
        sa.or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - LAST_USED_PRECISION))
        .values(last_used_at=now, updated_at=ApiKey.updated_at))
    await session.commit()


async def ensure_admin(session: AsyncSession, *, password: str | None, password_file: Path) -> str | None:
    """Creates the root org and the bootstrap `admin` once; returns a generated password, if any."""
    if (await session.execute(sa.select(User.id).where(User.username == "admin"))).first():
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    root_id = new_id()
    root = Org(id=root_id, parent_id=None, name="正版化平台 Zhengban", kind="root", path=f"/{root_id.hex}/")
    session.add(root)
    await session.flush()
    await _announce(session, root, "identity.org.created")
    admin = User(username="admin", password_hash=await hash_password(password), org_id=root.id,
                 roles=["admin"], display_name="Administrator")
    session.add(admin)
    try:
        await session.flush()
        await add_event(session, new_event("identity.user.created", UserCreated(
            user_id=admin.id, org_id=root.id, org_path=root.path, username=admin.username), source=SOURCE,
            about=admin.id))
        await session.commit()
    except IntegrityError:
        # Another gateway replica starting at the same moment made them first (the root org
        # goes with its admin, in one transaction).
        await session.rollback()
        return None
    if generated:
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(generated + "\n")
        password_file.chmod(0o600)
    return generated
