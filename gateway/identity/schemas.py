from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.auth import ROLES
from kernel.bounds import Text, UTCTime

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


# Letters, digits and `_.@-`: no spaces, nothing a person would misread in a sign-in form.
Username = Annotated[str, Field(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")]
# The rules on what a password contains are settings (gateway/identity/passwords.py); the schema
# bounds only its length, so that an over-long one never reaches the hash.
Password = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Roles = Annotated[list[Text(40)], Field(min_length=1, max_length=20)]


class UserCreate(RequestSchema):
    username: Username
    password: Password
    org_id: uuid.UUID
    roles: Roles
    display_name: Text(200, min_length=0) | None = None
    email: Email | None = None

    _roles = field_validator("roles")(_check_roles)


class UserUpdate(RequestSchema):
    """Only the fields sent change; `display_name` and `email` sent as null are cleared."""

    display_name: Text(200, min_length=0) | None = None
    email: Email | None = None
    roles: Roles | None = None
    org_id: uuid.UUID | None = None
    disabled: bool | None = None

    _roles = field_validator("roles")(lambda roles: roles if roles is None else _check_roles(roles))


class UserOut(ResponseSchema):
    id: uuid.UUID
    username: str
    org_id: uuid.UUID
    roles: list[str]
    display_name: str | None
    email: str | None = None
    disabled: bool = False
    must_change_password: bool = False
    created_at: datetime
    updated_at: datetime
    # In each item of a list too, where the console's rows are edit forms: no read per row for it.
    etag: str = Field(description="the user's ETag, as GET /users/{id} answers it: send it as If-Match "
                                  "to change the user")


class PasswordChange(RequestSchema):
    old_password: Password
    new_password: Password


class TemporaryPassword(ResponseSchema):
    temporary_password: str = Field(description="signs in once; the user must then choose a new password")


class ApiKeyCreate(RequestSchema):
    name: Text(200)
    org_id: uuid.UUID
    roles: Roles
    expires_at: UTCTime | None = Field(None, description="refused (401) from this time on; none: never expires")

    _roles = field_validator("roles")(_check_roles)


class ApiKeyOut(ResponseSchema):
    id: uuid.UUID
    name: str
    org_id: uuid.UUID
    roles: list[str]
    prefix: str
    expires_at: datetime | None = None
    last_used_at: datetime | None = Field(None, description="to the minute: written at most once a minute")
    created_by: str | None = None
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
