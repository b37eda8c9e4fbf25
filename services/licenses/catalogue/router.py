from __future__ import annotations

import uuid

from fastapi import APIRouter

from kernel import history
from kernel.auth import SIGNED_IN, SIGNED_IN_AND_STAFF, CurrentPrincipal
from kernel.bounds import Text
from kernel.contracts import Category
from kernel.deps import Session
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page
from services.licenses.catalogue import schemas, service
from services.licenses.visibility import IT_ADMINS

router = APIRouter(prefix="/api/v1/licenses", tags=["catalogue"])


@router.get("/catalogue", response_model=Page[schemas.TitleOut],
            # Staff read it too: to name the software they ask for (install requests, SPEC Oversight).
            openapi_extra={**SIGNED_IN_AND_STAFF, **gives(title_id="/items/0/id")},
            summary="Lists the software catalogue (shared by every org), by words of its vendor or name and category.")
async def list_catalogue(principal: CurrentPrincipal, session: Session, q: Text(200) | None = None,
                         category: Category | None = None, cursor: Cursor = None, limit: Limit = 100):
    items, next_cursor = await service.list_titles(session, q=q, category=category, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.post("/catalogue", status_code=201, response_model=schemas.TitleOut,
             openapi_extra={**IT_ADMINS, **gives(title_id="/id")},
             summary="Adds a title to the catalogue; the latest inventories are recognized again within a minute.")
async def create_title(data: schemas.TitleCreate, principal: CurrentPrincipal, session: Session):
    return await service.create_title(session, principal, data)


@router.post("/catalogue:recognize", response_model=schemas.RecognizeOut, openapi_extra=SIGNED_IN,
             summary="Recognizes up to 1,000 raw inventory entries as catalogue titles, recording nothing.")
async def recognize(data: schemas.RecognizeRequest, principal: CurrentPrincipal, session: Session):
    return await service.recognize(session, data)


@router.get("/catalogue/{title_id}", response_model=schemas.TitleOut, openapi_extra=SIGNED_IN,
            summary="Gets a catalogue title with its patterns.")
async def get_title(title_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    title = await service.get_title(session, title_id)
    return service.title_out(title, (await service.patterns_of(session, [title.id]))[title.id])


@router.post("/catalogue/{title_id}/patterns", response_model=schemas.TitleOut, openapi_extra=IT_ADMINS,
             summary="Adds a recognition pattern to a title; the latest inventories are recognized again "
                     "within a minute.")
async def add_pattern(title_id: uuid.UUID, data: schemas.PatternCreate, principal: CurrentPrincipal, session: Session):
    return await service.add_pattern(session, principal, title_id, data)


@router.get("/catalogue/{title_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=SIGNED_IN,
            summary="Gets a catalogue title's history: when it was added and each pattern added since.")
async def title_history(title_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                        cursor: Cursor = None, limit: Limit = 100):
    await service.get_title(session, title_id)
    return await history.history_page(session, title_id, cursor=cursor, limit=limit)
