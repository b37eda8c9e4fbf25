"""Domain errors and the one handler that turns every error into application/problem+json (RFC 9457).

Each error class has a stable `type` URI that scripts can match on; `title` is the same for every
instance of a type, and `detail` says what happened this time.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_BASE = "https://zhengban.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("zhengban.errors")


class DomainError(Exception):
    """Base of every error a use-case raises on purpose."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "The request cannot be carried out"

    def __init__(self, detail: str | None = None, *, slug: str | None = None, title: str | None = None,
                 **extensions: Any):
        super().__init__(detail or self.title)
        self.detail = detail
        if slug:
            self.slug = slug
        if title:
            self.title = title
        self.extensions = extensions

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "No such object"


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Not allowed"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "The object is not in a state that allows this"


class PreconditionFailed(DomainError):
    status, slug, title = 412, "precondition-failed", "The object changed since it was read"


class PreconditionRequired(DomainError):
    status, slug, title = 428, "if-match-required", "If-Match is required"


class InvalidInput(DomainError):
    status, slug, title = 422, "invalid-input", "The request is not valid"


def rate_limit_headers(retry_after: int, limit: int | None = None) -> dict[str, str]:
    """What a 429 tells a client (SPEC, "Operations and habits"): `Retry-After`, and the IETF
    draft's `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until a
    request is allowed again) when the limit is known."""
    headers = {"Retry-After": str(retry_after)}
    if limit is not None:
        headers |= {"RateLimit-Limit": str(limit), "RateLimit-Remaining": "0", "RateLimit-Reset": str(retry_after)}
    return headers


class TooManyRequests(DomainError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, limit: int | None = None,
                 **extensions: Any):
        super().__init__(detail, **extensions)
        self.headers = rate_limit_headers(retry_after, limit)


class Contended(Conflict):
    """A transaction the database failed to break a deadlock or a serialization conflict, still
    failing after kernel.contention's retries: nothing was done, and the same request again will
    most likely succeed."""

    status, slug, title = 409, "contended", "Too many concurrent changes of these objects"
    RETRY_AFTER_SECONDS = 1

    def __init__(self, detail: str | None = None, **extensions: Any):
        super().__init__(detail, **extensions)
        self.headers = {"Retry-After": str(self.RETRY_AFTER_SECONDS)}


# 40P01 deadlock_detected, 40001 serialization_failure (PostgreSQL's SQLSTATE codes).
CONTENTION_SQLSTATES = {"40P01", "40001"}


def is_contention(exc: BaseException) -> bool:
    """A deadlock, a serialization failure, or SQLite's lock still taken after its busy timeout."""
    if not isinstance(exc, sqlalchemy.exc.DBAPIError) or exc.connection_invalidated:
        return False
    if getattr(exc.orig, "sqlstate", None) in CONTENTION_SQLSTATES:
        return True
    return isinstance(exc, sqlalchemy.exc.OperationalError) and "database is locked" in str(exc.orig)


def problem_response(status: int, slug: str, title: str, detail: str | None = None,
                     headers: dict[str, str] | None = None, **extensions: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "No such object"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "The request is not valid"),
    429: ("rate-limited", "Too many requests"),
    502: ("upstream-unavailable", "A service behind the gateway did not answer"),
    503: ("unavailable", "Service unavailable"),
    504: ("upstream-timeout", "A service behind the gateway timed out"),
}


def problem_for_status(status: int, detail: str | None = None, headers=None, **ext) -> JSONResponse:
    slug, title = _STATUS_SLUGS.get(status, ("error", "Error"))
    return problem_response(status, slug, title, detail, headers=headers, **ext)


def _jsonable_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        out.append({"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", "")),
                    "type": str(err.get("type", ""))})
    return out


def install_problem_handlers(app: FastAPI) -> None:
    """Makes every error of this app a problem+json body."""

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError):
        return problem_response(exc.status, exc.slug, exc.title, exc.detail, headers=getattr(exc, "headers", None),
                                **exc.extensions)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        errors = _jsonable_errors(exc.errors())
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)[:500]
        return problem_response(422, "validation-error", "The request is not valid", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_for_status(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    async def _busy(_request: Request, _exc: sqlalchemy.exc.TimeoutError):
        # Every pooled database connection stayed busy for the pool's whole timeout: overload,
        # not a fault of the request, so the client is told to come back.
        return problem_response(503, "unavailable", "Service busy",
                                "all database connections are busy; try again shortly", headers={"Retry-After": "1"})

    @app.exception_handler(sqlalchemy.exc.DBAPIError)
    async def _connection_lost(request: Request, exc: sqlalchemy.exc.DBAPIError):
        if is_contention(exc):
            # A use-case not wrapped in kernel.contention.retried met a deadlock: its transaction
            # did nothing, and the caller may simply send it again (SPEC: never a 5xx).
            log.warning("transaction failed by contention", extra={"path": request.url.path})
            refused = Contended("the database broke a deadlock by failing this request; send it again")
            return problem_response(refused.status, refused.slug, refused.title, refused.detail,
                                    headers=refused.headers)
        if not exc.connection_invalidated:
            return await _unexpected(request, exc)
        # The server closed the connection under the request (a restart, a failover; kernel.db pings
        # only connections idle a while): the pool has dropped it and its peers, so the same request
        # again gets a fresh connection. Nothing was committed: the transaction died with it.
        log.warning("database connection lost", extra={"path": request.url.path})
        return problem_response(503, "unavailable", "Service unavailable",
                                "the database connection was lost; try again", headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # Internals stay in the log; the client gets the request id to quote.
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(500, "internal-error", "Internal error",
                                "Something went wrong; quote the request id when reporting it.")
