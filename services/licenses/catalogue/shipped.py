"""The catalogue shipped as data (catalogue/titles.json, read by recognition.shipped_titles()) put
into the database: by the migration that makes the tables, and again at every start, so that an
installation gets the titles and patterns a new release ships.

Idempotent and safe for replicas starting at once: a shipped title keeps the id its key gives it
on every installation, rows go in with INSERT … ON CONFLICT DO NOTHING, a changed title is updated
only where it differs, and the catalogue's revision goes up only when something changed — which
makes the re-recognition job look at the latest reports again."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kernel.ids import new_id, utcnow
from services.licenses.catalogue import recognition
from services.licenses.catalogue.models import CataloguePattern, CatalogueRevision, CatalogueTitle

TITLE_FIELDS = ("key", "vendor", "name", "category", "edition", "licensing", "domestic")


def _insert_ignore(connection: sa.Connection, table: sa.Table):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def load_shipped(connection: sa.Connection) -> int:
    """Brings the shipped titles and patterns into the database; returns how many rows changed
    (0 when the database already holds this release's catalogue)."""
    titles = recognition.shipped_titles()
    now = utcnow()
    table, patterns = CatalogueTitle.__table__, CataloguePattern.__table__
    held = {row.id: row for row in connection.execute(
        sa.select(table.c.id, *(table.c[f] for f in TITLE_FIELDS)).where(table.c.shipped))}
    changed = 0
    new = [dict(id=t.id, **{f: getattr(t, f) for f in TITLE_FIELDS}, shipped=True, created_at=now, updated_at=now)
           for t in titles if t.id not in held]
    if new:
        changed += connection.execute(_insert_ignore(connection, table), new).rowcount or 0
    for title in titles:
        row = held.get(title.id)
        if row is not None and any(getattr(row, f) != getattr(title, f) for f in TITLE_FIELDS):
            changed += connection.execute(sa.update(table).where(table.c.id == title.id).values(
                **{f: getattr(title, f) for f in TITLE_FIELDS}, updated_at=now)).rowcount
    wanted = {(t.id, p) for t in titles for p in t.patterns}
    have = {(row.title_id, row.pattern): row.id for row in connection.execute(
        sa.select(patterns.c.id, patterns.c.title_id, patterns.c.pattern).where(patterns.c.shipped))}
    missing = [dict(id=new_id(), title_id=title_id, pattern=pattern, shipped=True, created_at=now)
               for title_id, pattern in sorted(wanted - set(have), key=str)]
    if missing:
        changed += connection.execute(_insert_ignore(connection, patterns), missing).rowcount or 0
    gone = [pattern_id for key, pattern_id in have.items() if key not in wanted]
    if gone:
        changed += connection.execute(sa.delete(patterns).where(patterns.c.id.in_(gone))).rowcount
    if changed:
        revision = CatalogueRevision.__table__
        connection.execute(sa.update(revision).where(revision.c.id == 1)
                           .values(revision=revision.c.revision + 1, changed_at=now))
    return changed
