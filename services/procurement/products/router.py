from __future__ import annotations

import uuid

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError

from kernel import history
from kernel.auth import CurrentPrincipal
from kernel.contracts import Category
from kernel.deps import Session
from kernel.errors import Conflict, Forbidden, NotFound
from kernel.pagination import Cursor, Limit, Page, paginate
from services.procurement.products import schemas
from services.procurement.products.models import Product

router = APIRouter(prefix="/api/v1/procurement", tags=["products"])


@router.post("/products", status_code=201, response_model=schemas.ProductOut,
             openapi_extra={"x-roles": ["procurement"]}, summary="Adds a product to the catalogue.")
async def create_product(data: schemas.ProductCreate, principal: CurrentPrincipal, session: Session):
    principal.refuse_auditor()
    if not principal.has_any("procurement"):
        raise Forbidden("adding products needs the procurement role")
    product = Product(created_by=history.actor_of(principal), **data.model_dump())
    session.add(product)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("this product (vendor, name, edition, metric, term) is already in the catalogue",
                       slug="duplicate-product") from exc
    await history.record(session, "product", product.id, "created", principal, data.model_dump())
    await session.commit()
    return product


@router.get("/products", response_model=Page[schemas.ProductOut], openapi_extra={"x-roles": ["authenticated"]},
            summary="Lists the catalogue (it is shared by every org).")
async def list_products(principal: CurrentPrincipal, session: Session, category: Category | None = None,
                        cursor: Cursor = None, limit: Limit = 100):
    query = sa.select(Product)
    if category:
        query = query.where(Product.category == category)
    items, next_cursor = await paginate(session, query, Product.id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/products/{product_id}", response_model=schemas.ProductOut, openapi_extra={"x-roles": ["authenticated"]},
            summary="Gets a product.")
async def get_product(product_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound(f"no product {product_id}")
    return product
