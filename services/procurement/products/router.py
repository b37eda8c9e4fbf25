from __future__ import annotations

import uuid

from fastapi import APIRouter

from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.contracts import Category
from kernel.deps import Session
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page
from services.procurement.products import schemas, service
from services.procurement.visibility import PROCUREMENT

router = APIRouter(prefix="/api/v1/procurement", tags=["products"])


@router.post("/products", status_code=201, response_model=schemas.ProductOut,
             openapi_extra={**PROCUREMENT, **gives(product_id="/id")},
             summary="Adds a product to the catalogue.")
async def create_product(data: schemas.ProductCreate, principal: CurrentPrincipal, session: Session):
    return await service.create_product(session, principal, data)


@router.get("/products", response_model=Page[schemas.ProductOut],
            openapi_extra={**SIGNED_IN, **gives(product_id="/items/0/id")},
            summary="Lists the catalogue (it is shared by every org).")
async def list_products(principal: CurrentPrincipal, session: Session, category: Category | None = None,
                        cursor: Cursor = None, limit: Limit = 100):
    return await service.list_products(session, category=category, cursor=cursor, limit=limit)


@router.get("/products/{product_id}", response_model=schemas.ProductOut, openapi_extra=SIGNED_IN,
            summary="Gets a product.")
async def get_product(product_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.get_product(session, product_id)
