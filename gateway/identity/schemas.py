from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.auth import ROLES
from kernel.bounds import Text

OrgKind = Literal["finance_bureau", "unit", "sasac", "soe_group", "enterprise", "procurement_center", "supplier"]


def _check_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)}; roles are {', '.join(ROLES)}")
    return sorted(set(roles))


class OrgCreate(RequestSchema):
    name: Text(200)
    kind: OrgKind
    parent_id: uuid.UUID


class OrgUpdate(RequestSchema):
    name: Text(200)


class OrgOut(ResponseSchema):
    id: uuid.UUID
    name: str
    kind: str
    parent_id: uuid.UUID | None
    path: str
    created_at: datetime
    updated_at: datetime


class UserCreate(RequestSchema):
    username: str = Field(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=200)
    org_id: uuid.UUID
    roles: list[Text(40)] = Field(min_length=1, max_length=20)
    display_name: Text(200, min_length=0) | None = None

    _roles = field_validator("roles")(_check_roles)


class UserOut(ResponseSchema):
    id: uuid.UUID
    username: str
    org_id: uuid.UUID
    roles: list[str]
    display_name: str | None
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(RequestSchema):
    name: Text(200)
    org_id: uuid.UUID
    roles: list[Text(40)] = Field(min_length=1, max_length=20)

    _roles = field_validator("roles")(_check_roles)


class ApiKeyOut(ResponseSchema):
    id: uuid.UUID
    name: str
    org_id: uuid.UUID
    roles: list[str]
    prefix: str
    created_at: datetime
    updated_at: datetime


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the key itself: shown this once, stored only as a hash")


class TokenOut(ResponseSchema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class Me(ResponseSchema):
    id: uuid.UUID
    username: str | None = None
    name: str | None = None
    org_id: uuid.UUID
    roles: list[str]


class Name(ResponseSchema):
    id: uuid.UUID
    kind: Literal["org", "user", "api_key"]
    name: str


class Names(ResponseSchema):
    items: list[Name]
