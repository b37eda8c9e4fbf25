"""The API's docs pages, Swagger UI at /docs and ReDoc at /redoc, with every asset served by the
gateway itself: on a government intranet (政务内网) a page that loads its script from a public CDN
is a blank page. The assets come from the fastapi-offline package, which ships the Swagger UI and
ReDoc builds as package data (kept current by its maintainers, where a copy in this repository
would age)."""

from __future__ import annotations

import functools
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets"

router = APIRouter(include_in_schema=False)

# Both pages may load only from the gateway (a second line of defence on an intranet). The pages'
# own bootstrap scripts are inline, and ReDoc runs its search in a worker made from a blob.
SAME_HOST_ONLY = {"Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                  "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
                  "connect-src 'self'; font-src 'self' data:"}


@router.get("/docs")
async def swagger_ui():
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="Zhengban API",
                               swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                               swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                               swagger_favicon_url=f"{ASSETS_URL}/favicon.png")
    page.headers.update(SAME_HOST_ONLY)
    return page


@router.get("/redoc")
async def redoc():
    page = get_redoc_html(openapi_url="/openapi.json", title="Zhengban API",
                          redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                          redoc_favicon_url=f"{ASSETS_URL}/favicon.png", with_google_fonts=False)
    page.headers.update(SAME_HOST_ONLY)
    return page


@functools.cache
def redoc_script() -> bytes:
    """ReDoc's build with the one address outside the host it asks for, the "API docs by Redocly"
    logo on its vendor's CDN, pointed at the gateway instead: that address answers 404 there, and
    ReDoc then hides the image (its own onError), where on an intranet the browser would wait for
    the CDN and the request would leave the host."""
    script = (ASSETS / "redoc.standalone.js").read_bytes()
    return script.replace(b"https://cdn.redoc.ly/redoc/logo-mini.svg", f"{ASSETS_URL}/redoc-logo.svg".encode())


@router.get(f"{ASSETS_URL}/redoc.standalone.js")
async def redoc_js():
    return Response(redoc_script(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=86400"})


def install(app) -> None:
    """Adds the two pages and their assets to the gateway."""
    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
