from __future__ import annotations

import json
import math
import secrets
import uuid
from typing import Annotated

import aiohttp
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from gateway.identity import accounts, imports, schemas, service
from gateway.identity.passwords import PasswordRules
from gateway.identity.service import Lockout
from gateway.models import ApiKey, Org, User
from kernel import history
from kernel.auth import ADMINS, PUBLIC, SIGNED_IN, SIGNED_IN_AND_STAFF, CurrentPrincipal, Principal, any_principal
from kernel.bounds import Text
from kernel.deps import Session
from kernel.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from kernel.etags import IfMatch, with_etag
from kernel.exports import english
from kernel.imports import RELEASES_MEMORY, TEMPLATE_RESPONSES, ImportOut, headers_of, template
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page, paginate

router = APIRouter(prefix="/api/v1/identity", tags=["identity"])
auth_router = APIRouter(tags=["identity"])
internal_router = APIRouter(prefix="/internal", include_in_schema=False)


@auth_router.post("/auth/token", response_model=schemas.TokenOut, summary="Signs in and returns an access token.",
                  openapi_extra=PUBLIC)
async def issue_token(request: Request, session: Session, username: Annotated[Text(200), Form()],
                      password: Annotated[str, Form(max_length=1000)]):
    state = request.app.state
    limits, address = state.rate_limits, request.client.host if request.client else "unknown"
    if wait := await limits.sign_in_refused(address):
        retry = max(1, math.ceil(wait))
        state.audit.record("sign_in_failed", scope=request.scope, actor_name=username, status=429,
                           detail={"reason": "too_many_failures_from_address"})
        raise TooManyRequests(f"too many failed sign-ins from this address; try again in {retry} s",
                              retry_after=retry, limit=limits.failures_per_address.amount)
    try:
        user, org = await service.authenticate(session, username, password, Lockout.of(state.settings))
    except service.SignInRefused as refused:
        await limits.sign_in_failed(address)
        org = await session.get(Org, refused.user.org_id) if refused.user else None
        whose = {"actor_id": refused.user.id, "org_id": org.id, "org_path": org.path} if org else {}
        state.audit.record("sign_in_failed", scope=request.scope, actor_name=username, status=401,
                           detail={"reason": refused.reason}, **whose)
        if refused.locked_now:
            state.audit.record("locked", scope=request.scope, actor_name=username, status=401, **whose,
                               detail={"minutes": state.settings.lockout_minutes})
        raise
    token, ttl = state.signer.mint(subject=user.id, org_id=org.id, org_path=org.path, roles=user.roles,
                                   kind="user", name=user.username, password_change=user.must_change_password)
    state.audit.record("sign_in", scope=request.scope, actor_id=user.id, actor_name=user.username, org_id=org.id,
                       org_path=org.path, status=200,
                       detail={"one_time_password": True} if user.must_change_password else None)
    return schemas.TokenOut(access_token=token, expires_in=ttl)


@auth_router.get("/.well-known/jwks.json", summary="The public keys that verify access tokens.",
                 openapi_extra=PUBLIC)
async def jwks(request: Request):
    return JSONResponse(request.app.state.signer.jwks, headers={"Cache-Control": "public, max-age=60"})


# Staff (who may call little else, kernel.auth) may ask who they are and read the names on their requests.
@router.get("/me", response_model=schemas.Me, summary="Says who the caller is.",
            openapi_extra={**SIGNED_IN_AND_STAFF, **gives(org_id="/org_id")})
async def me(principal: CurrentPrincipal, session: Session):
    if principal.kind == "api_key":
        key = await session.get(ApiKey, principal.user_id)
        return schemas.Me(id=principal.user_id, name=key.name if key else principal.name, org_id=principal.org_id,
                          roles=sorted(principal.roles))
    user = await session.get(User, principal.user_id)
    if user is None:
        raise Unauthorized("this user no longer exists")
    return schemas.Me(id=user.id, username=user.username, org_id=user.org_id, roles=sorted(user.roles))


@router.post("/orgs", status_code=201, response_model=schemas.OrgOut, summary="Creates an org under a parent (admin).",
             openapi_extra={**ADMINS, **gives(org_id="/id")})
async def create_org(data: schemas.OrgCreate, principal: CurrentPrincipal, session: Session):
    return await service.create_org(session, principal, data)


@router.post("/orgs:import", response_model=ImportOut, openapi_extra=ADMINS,
             dependencies=[RELEASES_MEMORY],
             summary="Creates orgs from a spreadsheet (CSV in UTF-8 or GB18030, or XLSX), each under a parent named "
                     "by id or name, all rows or none: a file with a bad row answers every row's error.")
async def import_orgs(file: UploadFile, request: Request, principal: CurrentPrincipal, session: Session,
                      org_id: uuid.UUID | None = None, dry_run: bool = False):
    return await imports.import_orgs(session, principal, org_id, file, dry_run=dry_run, english=english(request))


@router.get("/orgs:import-template.xlsx", openapi_extra=ADMINS, response_class=Response,
            responses=TEMPLATE_RESPONSES,
            summary="Gets the orgs import template: an XLSX workbook with the Chinese headers.")
async def orgs_import_template(principal: CurrentPrincipal):
    service._require_admin(principal)
    return template("orgs", headers_of(imports.ORG_FIELDS))


@router.get("/orgs", response_model=Page[schemas.OrgOut], summary="Lists the orgs of the caller's subtree.",
            openapi_extra={**SIGNED_IN, **gives(org_id="/items/0/id")})
async def list_orgs(principal: CurrentPrincipal, session: Session, cursor: Cursor = None, limit: Limit = 100,
                    kind: schemas.OrgKind | None = None, parent_id: uuid.UUID | None = None):
    query = service.list_orgs_query(principal)
    if kind:
        query = query.where(Org.kind == kind)
    if parent_id:
        query = query.where(Org.parent_id == parent_id)
    items, next_cursor = await paginate(session, query, Org.id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/orgs/{org_id}", response_model=schemas.OrgOut, summary="Gets an org of the caller's subtree.",
            openapi_extra=SIGNED_IN)
async def get_org(org_id: uuid.UUID, principal: CurrentPrincipal, session: Session, response: Response):
    org = await service.visible_org(session, principal, org_id)
    with_etag(response, service.org_etag(org))
    return org


@router.patch("/orgs/{org_id}", response_model=schemas.OrgOut, summary="Renames an org (admin).",
              openapi_extra=ADMINS)
async def rename_org(org_id: uuid.UUID, data: schemas.OrgUpdate, principal: CurrentPrincipal, session: Session,
                     response: Response, if_match: IfMatch = None):
    org = await service.rename_org(session, principal, org_id, data, if_match=if_match)
    with_etag(response, service.org_etag(org))
    return org


@router.get("/orgs/{org_id}/history", response_model=Page[history.HistoryEntry], summary="Gets an org's history.",
            openapi_extra=SIGNED_IN)
async def org_history(org_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
        cursor: Cursor = None, limit: Limit = 100):
    await service.visible_org(session, principal, org_id)
    return await history.history_page(session, org_id, cursor=cursor, limit=limit)


@router.get("/names", response_model=schemas.Names,
            summary="Names the orgs, users and API keys of up to 200 ids, for people to read.",
            openapi_extra=SIGNED_IN_AND_STAFF)
async def names(request: Request, principal: CurrentPrincipal, session: Session,
                id: Annotated[list[uuid.UUID] | None, Query(max_length=200)] = None):  # noqa: A002 - ?id=…&id=…
    async def met_in_procurement(ids: list[uuid.UUID]) -> set[uuid.UUID]:
        return await parties_met(request, ids)

    return schemas.Names(items=await service.names(session, principal, list(dict.fromkeys(id or ())),
                                                   met_in_procurement))


async def parties_met(request: Request, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` procurement says the caller meets across subtrees, asked with the caller's own
    credentials; none when it cannot answer (a name withheld, never one shown in error)."""
    query = "&".join(f"id={i}" for i in ids)
    try:
        answer = await request.app.state.upstreams.request(
            "procurement", "GET", f"/api/v1/procurement/parties?{query}",
            headers=[("Authorization", request.headers.get("authorization", ""))], timeout=5)
    except (aiohttp.ClientError, TimeoutError):
        return set()
    if answer.status != 200:
        return set()
    return {uuid.UUID(item["id"]) for item in json.loads(answer.body)["items"]}


@router.post("/users", status_code=201, response_model=schemas.UserOut, summary="Creates a user (admin).",
             openapi_extra={**ADMINS, **gives(user_id="/id")})
async def create_user(data: schemas.UserCreate, principal: CurrentPrincipal, session: Session, request: Request):
    return await service.create_user(session, principal, data, PasswordRules.of(request.app.state.settings))


@router.post("/users:import", response_model=ImportOut, openapi_extra=ADMINS,
             dependencies=[RELEASES_MEMORY],
             summary="Creates or updates users from a spreadsheet (CSV in UTF-8 or GB18030, or XLSX), all rows or "
                     "none: a file with a bad row answers every row's error.")
async def import_users(file: UploadFile, request: Request, principal: CurrentPrincipal, session: Session,
                       org_id: uuid.UUID | None = None, dry_run: bool = False):
    return await imports.import_users(session, principal, org_id, file, PasswordRules.of(request.app.state.settings),
                                      dry_run=dry_run, english=english(request))


@router.get("/users:import-template.xlsx", openapi_extra=ADMINS, response_class=Response,
            responses=TEMPLATE_RESPONSES,
            summary="Gets the users import template: an XLSX workbook with the Chinese headers.")
async def users_import_template(principal: CurrentPrincipal):
    service._require_admin(principal)
    return template("users", headers_of(imports.USER_FIELDS))


@router.get("/users", response_model=Page[schemas.UserOut],
            summary="Lists or searches the users of the caller's subtree (admin; auditors read).",
            openapi_extra={**ADMINS, **gives(user_id="/items/0/id")})
async def list_users(principal: CurrentPrincipal, session: Session, cursor: Cursor = None, limit: Limit = 100,
                     org_id: uuid.UUID | None = None,
                     q: Annotated[Text(100) | None, Query(description="part of a username, name or e-mail")] = None):
    org = await service.visible_org(session, principal, org_id) if org_id else None
    items, next_cursor = await paginate(session, accounts.list_users_query(principal, org, q), User.id,
                                        cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/users/{user_id}", response_model=schemas.UserOut,
            summary="Gets a user (admin over its org; auditors read).", openapi_extra=ADMINS)
async def get_user(user_id: uuid.UUID, principal: CurrentPrincipal, session: Session, response: Response):
    user, _ = await accounts.visible_user(session, principal, user_id, write=False)
    with_etag(response, user.etag)
    return user


@router.patch("/users/{user_id}", response_model=schemas.UserOut,
              summary="Changes a user's name, e-mail, roles or org, or disables it (admin over its org).",
              openapi_extra=ADMINS)
async def update_user(user_id: uuid.UUID, data: schemas.UserUpdate, principal: CurrentPrincipal, session: Session,
                      request: Request, response: Response, if_match: IfMatch = None):
    user = await accounts.update_user(session, principal, user_id, data, if_match=if_match)
    with_etag(response, user.etag)
    state = request.app.state
    if user.disabled:
        # Refused here at once; other replicas and the services within seconds (kernel/disabled_users.py).
        state.disabled_users.add(str(user.id))
        await state.console_store.end_sessions_of(user.id)
    else:
        state.disabled_users.remove(str(user.id))
    return user


@router.post("/users/{user_id}/password-reset", response_model=schemas.TemporaryPassword,
             summary="Gives a user a one-time password that must be changed at the next sign-in (admin).",
             openapi_extra=ADMINS)
async def reset_password(user_id: uuid.UUID, principal: CurrentPrincipal, session: Session, request: Request):
    temporary = await accounts.reset_password(session, principal, user_id,
                                              PasswordRules.of(request.app.state.settings))
    return schemas.TemporaryPassword(temporary_password=temporary)


@router.post("/me/password", status_code=204,
             summary="Changes the caller's own password; also after a sign-in with a one-time password.",
             openapi_extra=SIGNED_IN)
async def change_password(data: schemas.PasswordChange, principal: Annotated[Principal, Depends(any_principal)],
                          session: Session, request: Request):
    await accounts.change_own_password(session, principal, data, PasswordRules.of(request.app.state.settings))
    return Response(status_code=204)


@router.post("/api-keys", status_code=201, response_model=schemas.ApiKeyCreated,
             summary="Creates an API key; the key is shown once (admin).",
             openapi_extra={**ADMINS, **gives(key_id="/id")})
async def create_api_key(data: schemas.ApiKeyCreate, principal: CurrentPrincipal, session: Session):
    api_key, key = await service.create_api_key(session, principal, data)
    return schemas.ApiKeyCreated(**schemas.ApiKeyOut.model_validate(api_key).model_dump(), key=key)


@router.get("/api-keys", response_model=Page[schemas.ApiKeyOut], summary="Lists live API keys (admin).",
            openapi_extra={**ADMINS, **gives(key_id="/items/0/id")})
async def list_api_keys(principal: CurrentPrincipal, session: Session, cursor: Cursor = None, limit: Limit = 100):
    items, next_cursor = await paginate(session, service.list_api_keys_query(principal), ApiKey.id, cursor=cursor,
                                        limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revokes an API key at once (admin).",
               openapi_extra=ADMINS)
async def delete_api_key(key_id: uuid.UUID, principal: CurrentPrincipal, session: Session, request: Request):
    await service.delete_api_key(session, principal, key_id)
    request.app.state.api_key_tokens.forget(key_id)
    return Response(status_code=204)


@router.post("/signing-keys/rotate", summary="Starts signing with a new key; old tokens stay valid (root admin).",
             openapi_extra=ADMINS)
async def rotate_signing_key(request: Request, principal: CurrentPrincipal, session: Session):
    if not principal.is_root_admin:
        raise Forbidden("only the root admin rotates signing keys")
    kid = await request.app.state.signer.rotate(session)
    request.app.state.keys.load(request.app.state.signer.jwks)
    await history.record(session, "signing_key", uuid.uuid5(uuid.NAMESPACE_URL, kid), "rotated", principal,
                         {"kid": kid})
    await session.commit()
    return {"kid": kid, "keys": [k["kid"] for k in request.app.state.signer.jwks["keys"]]}


def require_internal_token(request: Request) -> None:
    """/internal answers only to the services' shared token; anyone else finds nothing there."""
    expected = f"Bearer {request.app.state.settings.internal_token}"
    if not secrets.compare_digest(request.headers.get("authorization", "").encode(), expected.encode()):
        raise NotFound()


@internal_router.get("/orgs/{org_id}")
async def internal_org(org_id: uuid.UUID, request: Request, session: Session):
    """Lets a service learn an org it has not heard of yet (shared internal token only)."""
    require_internal_token(request)
    org = await session.get(Org, org_id)
    if org is None:
        raise NotFound(f"no org {org_id}")
    return schemas.OrgOut.model_validate(org)


@internal_router.get("/users/{user_id}")
async def internal_user(user_id: uuid.UUID, request: Request, session: Session):
    """Lets a service learn a user it has not heard of yet: who, and in which org (internal token only)."""
    require_internal_token(request)
    found = (await session.execute(sa.select(User, Org).join(Org, Org.id == User.org_id)
                                   .where(User.id == user_id))).first()
    if found is None:
        raise NotFound(f"no user {user_id}")
    user, org = found
    # `changed_at`: the answer is as of the user's last write, so a service ignores a change older than it.
    return {"id": str(user.id), "org_id": str(org.id), "org_path": org.path, "username": user.username,
            "changed_at": user.updated_at.isoformat()}
