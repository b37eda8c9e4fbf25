"""The product catalogue: shared by every org, added to by procurement staff."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contracts import Category
from kernel.errors import Conflict, NotFound
from kernel.pagination import Page, paginate
from services.procurement.products import schemas
from services.procurement.products.models import Product
from services.procurement.visibility import PROCUREMENT


async def create_product(session: AsyncSession, principal: Principal, data: schemas.ProductCreate) -> Product:
    """Adds a product to the catalogue."""
    PROCUREMENT.require_held(principal)
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


async def list_products(session: AsyncSession, *, category: Category | None, cursor: str | None,
                        limit: int) -> Page[Product]:
    """One page of the catalogue, optionally of one category."""
    query = sa.select(Product)
    if category:
        query = query.where(Product.category == category)
    items, next_cursor = await paginate(session, query, Product.id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


async def get_product(session: AsyncSession, product_id: uuid.UUID) -> Product:
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound(f"no product {product_id}")
    return product
