"""The reviewer workbench over HTTP: a JSON API (OpenAPI at /docs) and the review page (nlp.pages).

Every error, from our own checks, FastAPI's validation, unknown routes or a crash, has one shape:
``{"error": {"code": "E061", "message": "…", "field": "page"}}``. API requests authenticate with a
reviewer's bearer token; the page uses a signed session cookie plus a CSRF token on every POST.

>>> from nlp.store import open_store
>>> app = create_app(open_store("sqlite://"), bundle=None, services=FAKE)  # doctest: +SKIP
"""

from __future__ import annotations

import gc
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache, partial
from queue import Empty, SimpleQueue
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from nlp.annotate import Services, default_services
from nlp.auth import LIMITS as AUTH_LIMITS
from nlp.auth import Reviewer, csrf_matches, reviewer_for_token, session_reviewer
from nlp.errors import Errors, ZhibiaoError
from nlp.export import EXPORT_COLUMNS, export_rows
from nlp.messages_zh import message_zh
from nlp.review import (
    LIMITS,
    departments,
    indicator_detail,
    record_decision,
    search_indicators,
)
from nlp.review_groups import list_clusters
from nlp.schema import indicators
from nlp.store import Store, get_setting
from nlp.tabular import csv_bytes, xlsx_bytes
from nlp.taxonomy import SCHEME_2013, SCHEME_2021, SCHEME_CLASSIC, label_name
from nlp.web_guard import MAX_BODY, GuardMiddleware

__all__ = ["create_app", "ApiError", "MAX_BODY", "GuardMiddleware"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_STATUS = {
    "E062": 404,
    "E063": 401,
    "E064": 403,
    "E065": 403,
    "E070": 401,
    "E072": 405,
    "E073": 500,
    "E076": 413,
    "E079": 429,
    "E090": 401,
    "E091": 409,
    "E092": 409,
}


class ApiError(ZhibiaoError):
    """An error answered with the JSON error shape and an HTTP status."""

    def __init__(self, code: str, *, status: int | None = None, **fields: object) -> None:
        super().__init__(code, **fields)
        self.status = status or _STATUS.get(code, 400)


def error_response(
    code: str, *, status: int | None = None, field: str | None = None, **fields: Any
) -> JSONResponse:
    """The one JSON error shape (message from the catalogue in nlp.errors)."""
    message = getattr(Errors, code).format(field=field, **fields)
    zh = message_zh(code, field=field, **fields)
    body = {"error": {"code": code, "message": message, "message_zh": zh, "field": field}}
    return JSONResponse(body, status_code=status or _STATUS.get(code, 400))


def _from_exception(exc: ZhibiaoError) -> JSONResponse:
    message = str(exc).split("] ", 1)[-1]
    status = getattr(exc, "status", None) or _STATUS.get(exc.code, 400)
    field = exc.fields.get("field")
    zh = message_zh(exc.code, **exc.fields)
    body = {"error": {"code": exc.code, "message": message, "message_zh": zh, "field": field}}
    return JSONResponse(body, status_code=status)


def _wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not a script): it gets an HTML error page."""
    path = request.url.path
    if path.startswith(("/api/", "/openapi", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _answer(request: Request, response: JSONResponse) -> Response:
    if not _wants_html(request):
        return response
    from nlp.pages import error_page

    return error_page(request, response)


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    error = exc.errors()[0] if exc.errors() else {}
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(loc) or None
    kind = error.get("type", "")
    if kind == "json_invalid":
        detail = str(error.get("ctx", {}).get("error", "malformed JSON"))
        return error_response(
            "E068", status=400, detail=detail, example='{"indicator_id": 1, "action": "accept"}'
        )
    if kind == "string_too_long":
        value = error.get("input")
        limit = error.get("ctx", {}).get("max_length", "?")
        length = len(value) if isinstance(value, str) else "?"
        return error_response("E067", status=422, field=field or "text", length=length, limit=limit)
    return error_response(
        "E061", status=422, field=field or "request", detail=str(error.get("msg", "invalid"))
    )


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ZhibiaoError)
    async def _zhibiao(request: Request, exc: ZhibiaoError) -> Response:
        return _answer(request, _from_exception(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _answer(request, error_response("E062", what=f"Page {request.url.path[:200]}"))
        if exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "GET")
            return error_response("E072", method=request.method, path=request.url.path[:200], allowed=allowed)
        return error_response("E061", status=exc.status_code, field="request", detail=str(exc.detail)[:200])

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        return _answer(request, error_response("E073", detail=type(exc).__name__))


# ------------------------------------------------------------------------------------------- access


def current_reviewer(request: Request) -> Reviewer:
    """The reviewer behind a request: bearer token, else the server-side session named by the cookie
    (POSTs then need the CSRF token). A session that was signed out, revoked or expired answers E090."""
    db: Store = request.app.state.db
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        reviewer = reviewer_for_token(db, header[7:].strip())
        if reviewer is None:
            raise ApiError("E063")
        return reviewer
    sid = request.session.get("sid")
    if not sid:
        raise ApiError("E063")
    reviewer = session_reviewer(db, str(sid))
    if reviewer is None:
        raise ApiError("E090")
    if request.method not in SAFE_METHODS and not csrf_matches(
        request.session.get("csrf"), request.headers.get("x-csrf-token")
    ):
        raise ApiError("E065")
    return reviewer


def admin_reviewer(reviewer: Annotated[Reviewer, Depends(current_reviewer)]) -> Reviewer:
    if not reviewer.is_admin:
        raise ApiError("E064")
    return reviewer


ReviewerDep = Annotated[Reviewer, Depends(current_reviewer)]
AdminDep = Annotated[Reviewer, Depends(admin_reviewer)]
Page = Annotated[int, Query(ge=1, le=10_000, description="page number, from 1")]
Size = Annotated[int, Query(ge=1, le=LIMITS["size"], description="rows per page")]


class DecisionIn(BaseModel):
    """A reviewer's decision on one indicator."""

    indicator_id: int = Field(ge=1, le=2**31 - 1)
    action: str = Field(max_length=16, description="accept | keep | choose | process | skip | undo")
    code: str = Field(default="", max_length=4, description="for choose: 11 12 13 14 21 22 23 24 31 or PR")
    comment: str = Field(default="", max_length=LIMITS["comment"])


# ------------------------------------------------------------------------------------------ suggest

SuggestKey = tuple[str, str, str, str]  # (name, value, description, scheme)


def _suggest_batch(services: Services, bundle: Any, keys: list[SuggestKey]) -> list[tuple[Any, float | None]]:
    """Predictions (and process-item probabilities) for many suggestion requests in one vectorised pass:
    the same :func:`nlp.model.suggest_many` as ``zhibiao suggest``."""
    return services.suggest_many(bundle, keys)


class Batcher:
    """Runs ``fn`` over whatever requests queued while the previous batch was computing.

    A single suggestion costs ~12 ms of sklearn overhead, a batch of 30 about 3 ms each: under load the
    batches grow by themselves, and a lone request waits for nobody.
    """

    def __init__(self, fn: Callable[[list[Any]], list[Any]], *, max_batch: int = 16) -> None:
        self._fn = fn
        self._max = max_batch
        self._queue: SimpleQueue[tuple[Any, Future[Any]]] = SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, key: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((key, future))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="zhibiao-suggest", daemon=True)
                self._thread.start()
        return future

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max:
                try:
                    batch.append(self._queue.get_nowait())
                except Empty:
                    break
            keys = list(dict.fromkeys(key for key, _future in batch))
            try:
                results = dict(zip(keys, self._fn(keys), strict=True))
            except Exception as exc:  # handed to every waiting request, which answers E073
                for _key, future in batch:
                    future.set_exception(exc)
            else:
                for key, future in batch:
                    future.set_result(results[key])


# ----------------------------------------------------------------------------------------------- app


def create_app(
    db: Store,
    *,
    bundle: Any,
    services: Services | None = None,
    secret: str | None = None,
    secure_cookies: bool = False,
) -> FastAPI:
    """The FastAPI application over ``db`` with the model ``bundle`` (for /api/suggest).

    ``secure_cookies`` marks the session cookie Secure (serve behind TLS: ``zhibiao serve
    --secure-cookies``); it is HttpOnly and SameSite=strict always.
    """
    services = services or default_services()
    secret = secret or get_setting(db, "session_secret", lambda: secrets.token_urlsafe(48))
    version = str(getattr(bundle, "version", "") or "unknown")

    batcher = Batcher(partial(_suggest_batch, services, bundle))

    @lru_cache(maxsize=4096)
    def cached_suggest(name: str, value: str, description: str, scheme: str) -> tuple[Any, float | None]:
        # The box suggests as the reviewer types, so the same prefixes come back again and again.
        return batcher.submit((name, value, description, scheme)).result(timeout=30)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        cached_suggest("预算执行率", "", "", SCHEME_CLASSIC)  # load jieba and the model before the first user
        # The model's vocabularies are millions of long-lived objects; a full collection walking them
        # stalls every request for ~100 ms. Freezing moves them out of the collector's sight.
        gc.collect()
        gc.freeze()
        yield

    app = FastAPI(
        title="zhibiao 指标审核台",
        version=version,
        description="Search indicators, review the audit's flags and record decisions.",
        lifespan=lifespan,
        docs_url=None,  # served by nlp.pages from local Swagger UI files: intranets have no CDN
        redoc_url=None,
    )
    app.state.db = db
    app.state.bundle = bundle
    app.state.services = services
    app.state.model_version = version
    app.state.reasons = dict(services.reasons)
    _install_errors(app)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="zhibiao_session",
        max_age=AUTH_LIMITS["session_hours"] * 3600,
        same_site="strict",
        https_only=secure_cookies,
    )
    # Added last, so outermost: an oversized body is refused before sessions or routes see it.
    app.add_middleware(GuardMiddleware)

    _api_routes(app, cached_suggest)
    from nlp.pages import install_pages
    from nlp.web_review import install_review_routes

    install_review_routes(app)
    install_pages(app)
    return app


def _api_routes(app: FastAPI, cached_suggest: Callable[..., Any]) -> None:
    db: Store = app.state.db
    reasons: dict[str, str] = app.state.reasons

    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, Any]:
        """Whether the server and its store answer; the model version served."""
        with db.read() as conn:
            n = conn.execute(select(func.count()).select_from(indicators)).scalar_one()
        return {
            "status": "ok",
            "model_version": app.state.model_version,
            "db": db.engine.dialect.name,
            "indicators": n,
        }

    @app.get("/api/suggest", tags=["review"])
    def suggest(
        _reviewer: ReviewerDep,
        name: Annotated[str, Query(min_length=1, max_length=LIMITS["name"], description="indicator name")],
        value: Annotated[str, Query(max_length=LIMITS["value"])] = "",
        description: Annotated[str, Query(max_length=LIMITS["description"])] = "",
        scheme: Annotated[
            str, Query(pattern=f"^({SCHEME_CLASSIC}|{SCHEME_2021}|{SCHEME_2013})$")
        ] = SCHEME_CLASSIC,
    ) -> dict[str, Any]:
        """The standard category for an indicator name (and value), with probability and reason, and how
        likely it is a process item (budget execution, not a performance indicator)."""
        pred, process = cached_suggest(name.strip(), value.strip(), description.strip(), scheme)
        return {
            "name": name,
            "code": pred.code,
            "l1": pred.l1,
            "l2": pred.l2,
            "confidence": round(float(pred.confidence), 4),
            "top": [{"code": c, "name": label_name(c), "p": round(float(p), 4)} for c, p in pred.top],
            "reason": pred.reason,
            "process_probability": None if process is None else round(process, 4),
            "model_version": app.state.model_version,
        }

    @app.get("/api/indicators", tags=["review"])
    def list_indicators(
        reviewer: ReviewerDep,
        q: Annotated[
            str, Query(max_length=LIMITS["q"], description="text in name, description or project")
        ] = "",
        department: Annotated[str, Query(max_length=255)] = "",
        flagged: bool | None = None,
        cluster: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        disputed: bool | None = None,
        page: Page = 1,
        size: Size = 20,
    ) -> dict[str, Any]:
        """Indicators matching the filters, with suggestion, flag and the decision in force."""
        return search_indicators(
            db, q=q.strip(), department=department, flagged=flagged, cluster=cluster, disputed=disputed, page=page,
            size=size,
            reasons=reasons, viewer=reviewer.id,
        )  # fmt: skip

    @app.get("/api/indicators/{indicator_id}", tags=["review"])
    def get_indicator(reviewer: ReviewerDep, indicator_id: int) -> dict[str, Any]:
        """One indicator with the full history of decisions on it (under double review, only your own
        until every assigned reviewer has decided)."""
        return indicator_detail(db, indicator_id, reasons=reasons, viewer=reviewer.id)

    @app.post("/api/decisions", tags=["review"], status_code=201)
    def post_decision(reviewer: ReviewerDep, decision: Annotated[DecisionIn, Body()]) -> dict[str, Any]:
        """Record a decision (append-only); ``undo`` withdraws your latest one on the indicator."""
        saved = record_decision(
            db,
            reviewer_id=reviewer.id,
            indicator_id=decision.indicator_id,
            action=decision.action,
            code=decision.code.strip(),
            comment=decision.comment,
        )
        return {**saved, "reviewer": reviewer.name}

    @app.get("/api/clusters", tags=["review"])
    def get_clusters(
        _reviewer: ReviewerDep,
        level: Annotated[str, Query(max_length=32)] = "",
        department: Annotated[str, Query(max_length=255)] = "",
        page: Page = 1,
        size: Size = 20,
    ) -> dict[str, Any]:
        """Groups of near-identical text across projects and departments, members side by side."""
        return list_clusters(db, level=level, department=department, page=page, size=size)

    @app.get("/api/departments", tags=["review"])
    def get_departments(_reviewer: ReviewerDep) -> list[str]:
        return departments(db)

    @app.get("/api/export", tags=["admin"])
    def export(_admin: AdminDep, format: Annotated[str, Query(max_length=8)] = "csv") -> Response:  # noqa: A002
        """Every decision with reviewer, time, codes before and after and the model version shown."""
        if format not in ("csv", "xlsx"):
            raise ApiError("E071", field="format", format=format)
        rows = export_rows(db)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        if format == "csv":
            content, media = csv_bytes(rows, EXPORT_COLUMNS), "text/csv; charset=utf-8"
        else:
            content, media = (
                xlsx_bytes([("decisions", EXPORT_COLUMNS, rows)]),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        disposition = f'attachment; filename="zhibiao-decisions-{stamp}.{format}"'
        return Response(content, media_type=media, headers={"Content-Disposition": disposition})
