from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import Text
from kernel.contracts import Category

Licensing = Literal["commercial", "free", "personal_free", "bundled"]
Pattern = Text(500)


class TitleCreate(RequestSchema):
    vendor: Text(200)
    name: Text(200)
    category: Category
    edition: Text(100) | None = None
    licensing: Licensing
    domestic: bool = False
    patterns: list[Pattern] = Field(default_factory=list, max_length=50)


class TitleOut(ResponseSchema):
    id: uuid.UUID
    vendor: str
    name: str
    category: str
    edition: str | None
    licensing: str
    domestic: bool
    patterns: list[str]


class PatternCreate(RequestSchema):
    pattern: Pattern


class RawEntry(RequestSchema):
    name: Text(200)
    vendor: Text(200, min_length=0) | None = None
    version: Text(100, min_length=0) | None = None


class RecognizeRequest(RequestSchema):
    entries: list[RawEntry] = Field(max_length=1000)


class RecognizedTitle(ResponseSchema):
    title_id: uuid.UUID
    vendor: str
    name: str
    category: str
    licensing: str


class RecognizeOut(ResponseSchema):
    results: list[RecognizedTitle | None]
