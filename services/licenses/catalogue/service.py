"""The software catalogue: listing and extending it, and recognizing raw inventory names as its
titles with the catalogue as the database holds it now.

The catalogue is one for the whole installation (a title is the same product in every org), so
every signed-in caller reads it; `admin` and `it_admin` extend it. Each change raises the
catalogue's revision in its own transaction: each process rebuilds its recognizer when it sees a
new revision, and the re-recognition job (devices/recognition.py) recognizes the latest reports
again."""

from __future__ import annotations

import uuid
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.db import among
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.ids import new_id, utcnow
from kernel.pagination import paginate
from services.licenses.catalogue import recognition, schemas
from services.licenses.catalogue.models import CataloguePattern, CatalogueRevision, CatalogueTitle
from services.licenses.visibility import IT_ADMINS

OBJECT = "catalogue_title"


# --- recognition ----------------------------------------------------------------------------

class _Built:
    def __init__(self, revision: int, recognizer: recognition.Recognizer, titles: dict[uuid.UUID, recognition.Title]):
        self.revision, self.recognizer, self.titles = revision, recognizer, titles


# One recognizer per database (engine) in this process, rebuilt when the catalogue's revision moves.
_built: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def revision(session: AsyncSession) -> int:
    return (await session.execute(sa.select(CatalogueRevision.revision).where(CatalogueRevision.id == 1))).scalar_one()


async def load_titles(session: AsyncSession) -> list[recognition.Title]:
    """The catalogue as recognition's titles, patterns included."""
    patterns: dict[uuid.UUID, list[str]] = defaultdict(list)
    for title_id, pattern in (await session.execute(
            sa.select(CataloguePattern.title_id, CataloguePattern.pattern).order_by(CataloguePattern.id))).all():
        patterns[title_id].append(pattern)
    rows = (await session.execute(sa.select(CatalogueTitle).order_by(CatalogueTitle.id))).scalars().all()
    return [recognition.Title(id=row.id, key=row.key, vendor=row.vendor, name=row.name, category=row.category,
                              edition=row.edition, licensing=row.licensing, domestic=row.domestic,
                              patterns=tuple(patterns[row.id])) for row in rows]


async def current(session: AsyncSession) -> _Built:
    """The recognizer of the catalogue's current revision (one look-up of the revision per call;
    the titles are read again only after a change)."""
    engine = session.bind.sync_engine
    now = await revision(session)
    built = _built.get(engine)
    if built is None or built.revision != now:
        titles = await load_titles(session)
        built = _Built(now, recognition.Recognizer(titles), {t.id: t for t in titles})
        _built[engine] = built
    return built


def decision(result: recognition.Recognition) -> tuple[uuid.UUID | None, bool]:
    """(title_id, not_a_product) as an inventory row stores the recognition."""
    return (result.title.id if result.title is not None else None), result.not_a_product


async def recognize(session: AsyncSession, data: schemas.RecognizeRequest) -> schemas.RecognizeOut:
    built = await current(session)
    results: list[schemas.RecognizedTitle | None] = []
    for entry in data.entries:
        title = built.recognizer.recognize(entry.name, entry.vendor, entry.version).title
        results.append(None if title is None else schemas.RecognizedTitle(
            title_id=title.id, vendor=title.vendor, name=title.name, category=title.category,
            licensing=title.licensing))
    await session.rollback()
    return schemas.RecognizeOut(results=results)


async def title_for(session: AsyncSession, title_id: uuid.UUID | None, vendor: str, name: str) -> uuid.UUID | None:
    """The title an entitlement or pool names: the one given (which must exist), else the one its
    vendor and product name are recognized as, else none."""
    if title_id is not None:
        if await session.get(CatalogueTitle, title_id) is None:
            raise InvalidInput(f"no title {title_id} in the catalogue", slug="unknown-title")
        return title_id
    return decision((await current(session)).recognizer.recognize(name, vendor))[0]


async def existing_titles(session: AsyncSession, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = sorted(set(ids))
    found: set[uuid.UUID] = set()
    for condition in among(session, CatalogueTitle.id, ids):
        found |= set((await session.execute(sa.select(CatalogueTitle.id).where(condition))).scalars())
    return found


# --- the catalogue --------------------------------------------------------------------------

def titles_query(q: str | None, category: str | None) -> sa.Select:
    query = sa.select(CatalogueTitle)
    if q:
        query = query.where(sa.or_(CatalogueTitle.name.icontains(q, autoescape=True),
                                   CatalogueTitle.vendor.icontains(q, autoescape=True),
                                   CatalogueTitle.edition.icontains(q, autoescape=True)))
    if category:
        query = query.where(CatalogueTitle.category == category)
    return query


async def patterns_of(session: AsyncSession, title_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    patterns: dict[uuid.UUID, list[str]] = defaultdict(list)
    for condition in among(session, CataloguePattern.title_id, list(title_ids)):
        for title_id, pattern in (await session.execute(
                sa.select(CataloguePattern.title_id, CataloguePattern.pattern).where(condition)
                .order_by(CataloguePattern.created_at, CataloguePattern.id))).all():
            patterns[title_id].append(pattern)
    return patterns


def title_out(title: CatalogueTitle, patterns: list[str]) -> schemas.TitleOut:
    return schemas.TitleOut(id=title.id, vendor=title.vendor, name=title.name, category=title.category,
                            edition=title.edition, licensing=title.licensing, domestic=title.domestic,
                            patterns=patterns)


async def list_titles(session: AsyncSession, *, q: str | None, category: str | None, cursor: str | None,
                      limit: int) -> tuple[list[schemas.TitleOut], str | None]:
    titles, next_cursor = await paginate(session, titles_query(q, category), CatalogueTitle.id,
                                         cursor=cursor, limit=limit)
    patterns = await patterns_of(session, [t.id for t in titles])
    return [title_out(t, patterns[t.id]) for t in titles], next_cursor


async def get_title(session: AsyncSession, title_id: uuid.UUID) -> CatalogueTitle:
    title = await session.get(CatalogueTitle, title_id)
    if title is None:
        raise NotFound(f"no title {title_id} in the catalogue")
    return title


def checked_pattern(pattern: str) -> str:
    """The pattern as recognition takes it, or 422 naming what is wrong with it."""
    try:
        return recognition.check_pattern(pattern)
    except ValueError as exc:
        raise InvalidInput(f"pattern {pattern!r}: {exc}", slug="invalid-pattern", pattern=pattern) from exc


def user_key(vendor: str, name: str, edition: str | None) -> str:
    return "user:" + "|".join(recognition.normalize(part or "") for part in (vendor, name, edition))


async def raise_revision(session: AsyncSession) -> None:
    await session.execute(sa.update(CatalogueRevision).where(CatalogueRevision.id == 1)
                          .values(revision=CatalogueRevision.revision + 1, changed_at=utcnow()))


async def create_title(session: AsyncSession, principal: Principal, data: schemas.TitleCreate) -> schemas.TitleOut:
    IT_ADMINS.require_held(principal)
    patterns = list(dict.fromkeys(checked_pattern(p) for p in data.patterns))
    title = CatalogueTitle(id=new_id(), key=user_key(data.vendor, data.name, data.edition), shipped=False,
                           **data.model_dump(exclude={"patterns"}))
    session.add(title)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"the catalogue already has {data.vendor} {data.name}"
                       f"{' ' + data.edition if data.edition else ''}", slug="duplicate-title") from exc
    now = utcnow()
    if patterns:
        await session.execute(sa.insert(CataloguePattern), [
            dict(id=new_id(), title_id=title.id, pattern=p, shipped=False, created_at=now) for p in patterns])
    await raise_revision(session)
    await history.record(session, OBJECT, title.id, "created", principal,
                         {**data.model_dump(exclude={"patterns"}), "patterns": patterns})
    await session.commit()
    return title_out(title, patterns)


async def add_pattern(session: AsyncSession, principal: Principal, title_id: uuid.UUID,
                      data: schemas.PatternCreate) -> schemas.TitleOut:
    title = await get_title(session, title_id)
    IT_ADMINS.require_held(principal)
    pattern = checked_pattern(data.pattern)
    session.add(CataloguePattern(id=new_id(), title_id=title.id, pattern=pattern, shipped=False))
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"title {title_id} already has the pattern {pattern!r}", slug="duplicate-pattern") from exc
    await raise_revision(session)
    await history.record(session, OBJECT, title.id, "pattern_added", principal, {"pattern": pattern})
    patterns = (await patterns_of(session, [title.id]))[title.id]
    await session.commit()
    return title_out(title, patterns)
