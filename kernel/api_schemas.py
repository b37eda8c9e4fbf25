"""The base classes of every service's request and response bodies (each domain folder's
schemas.py derives from them), kept apart from the tables: the API's shape is the contract SPEC
names, and it differs from the rows (computed fields, hidden columns, defaults)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from kernel.bounds import check_texts


class RequestSchema(BaseModel):
    """Request bodies refuse unknown fields (a typo is an error, not silently ignored), NaN and
    infinities, and control characters in any string; numbers and times take their bounds from
    `kernel.bounds`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _texts_without_control_characters(cls, data):
        return check_texts(data)


class ResponseSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)
