"""The base classes of every service's request and response bodies (each domain folder's
schemas.py derives from them), kept apart from the tables: the API's shape is the contract SPEC
names, and it differs from the rows (computed fields, hidden columns, defaults)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from kernel.bounds import check_texts


def _no_null_default_where_null_is_refused(schema: dict) -> None:
    # A field that may be left out but not emptied (`quantity: Quantity = None` in a PATCH body)
    # would otherwise be documented with `default: null`, a value its own schema refuses.
    for prop in schema.get("properties", {}).values():
        nullable = any(option.get("type") == "null" for option in prop.get("anyOf", ()))
        if "default" in prop and prop["default"] is None and not nullable and prop.get("type") != "null":
            del prop["default"]


class RequestSchema(BaseModel):
    """Request bodies refuse unknown fields (a typo is an error, not silently ignored), NaN and
    infinities, and control characters in any string; numbers and times take their bounds from
    `kernel.bounds`.

    PATCH bodies follow JSON merge patch (RFC 7396): an absent field is left as it is and `null`
    empties a field that may be empty. A field that may not be empty is declared without `| None`
    and defaulting to None (`title: Text(300) = None`): absent it is left as it is, and `null` is
    a 422, never a None that reaches the service."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False,
                              json_schema_extra=_no_null_default_where_null_is_refused)

    @model_validator(mode="before")
    @classmethod
    def _texts_without_control_characters(cls, data):
        return check_texts(data)


class ResponseSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def without_read_only(body, request: type[BaseModel], answer: type[BaseModel]):
    """`body` without the fields that `answer` (the GET's shape) has and `request` does not: a PUT
    accepts the body its GET answered, its read-only fields ignored (SPEC, "Operations and
    habits"), while a field neither knows is still refused."""
    if not isinstance(body, dict):
        return body
    read_only = set(answer.model_fields) - set(request.model_fields)
    return {key: value for key, value in body.items() if key not in read_only}
