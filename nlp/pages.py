"""The review page: server-rendered Jinja2 shells, filled by ``static/app.js`` from the JSON API.

Login is a form with a CSRF token; the session cookie is signed (Starlette's SessionMiddleware) and
SameSite=strict. Page scripts send the session's CSRF token in ``X-CSRF-Token`` on every POST.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from nlp.auth import AuthError, Reviewer, authenticate, csrf_matches, new_csrf, reviewer_by_id
from nlp.review import ACTION_NAMES, CHOICES, indicator_detail
from nlp.store import Store
from nlp.taxonomy import label_name

__all__ = ["install_pages", "KEYS"]

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

#: The keyboard legend shown on the page (the script binds the same keys).
KEYS: tuple[tuple[str, str], ...] = (
    ("a", "接受建议"),
    ("k", "保留申报类别"),
    ("1–9", "改为所选类别"),
    ("p", "标为过程指标"),
    ("s", "跳过"),
    ("u", "撤销上一条"),
    ("/", "搜索"),
)


def _templates() -> Jinja2Templates:
    # Starlette's default only escapes *.html; ours end in .html.j2, so switch escaping on for all.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.globals["label_name"] = label_name
    return Jinja2Templates(env=env)


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf()
    return str(token)


def _session_reviewer(request: Request) -> Reviewer | None:
    reviewer_id = request.session.get("reviewer_id")
    if not reviewer_id:
        return None
    db: Store = request.app.state.db
    return reviewer_by_id(db, int(reviewer_id))


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def _safe_next(target: str) -> str:
    # Only local paths: an open redirect after login would hand the session's trust to another site.
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def install_pages(app: FastAPI) -> None:
    """Mount /static and the page routes on ``app``."""
    templates = _templates()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def render(
        request: Request, name: str, reviewer: Reviewer | None, status: int = 200, **context: Any
    ) -> Response:
        context.update(
            reviewer=reviewer,
            csrf=_csrf(request),
            model_version=request.app.state.model_version,
            keys=KEYS,
            choices=[(str(i + 1), code, label_name(code)) for i, code in enumerate(CHOICES[:9])],
            actions=ACTION_NAMES,
        )
        response = templates.TemplateResponse(request, name, context, status_code=status)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'"
        )
        return response

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002
        return render(request, "login.html.j2", None, next=_safe_next(next[:200]), error="")

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        name: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=256)],
        csrf: Annotated[str, Form(max_length=64)] = "",
        next: Annotated[str, Form(max_length=200)] = "/",  # noqa: A002
    ) -> Response:
        if not csrf_matches(request.session.get("csrf"), csrf):
            return render(
                request, "login.html.j2", None, 403, next=_safe_next(next), error="页面已过期，请重新登录。"
            )
        try:
            reviewer = authenticate(request.app.state.db, name, password)
        except AuthError:
            return render(
                request, "login.html.j2", None, 401, next=_safe_next(next), error="用户名或密码错误。"
            )
        # A fresh session on login, so a token planted before login is worthless afterwards.
        request.session.clear()
        request.session.update(reviewer_id=reviewer.id, csrf=new_csrf())
        return RedirectResponse(_safe_next(next), status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: Annotated[str, Form(max_length=64)] = "") -> Response:
        if csrf_matches(request.session.get("csrf"), csrf):
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def review_page(request: Request) -> Response:
        reviewer = _session_reviewer(request)
        if reviewer is None:
            return _to_login(request)
        return render(request, "review.html.j2", reviewer)

    @app.get("/clusters", include_in_schema=False, response_class=HTMLResponse)
    def clusters_page(request: Request) -> Response:
        reviewer = _session_reviewer(request)
        if reviewer is None:
            return _to_login(request)
        return render(request, "clusters_browser.html.j2", reviewer)

    @app.get("/indicators/{indicator_id}", include_in_schema=False, response_class=HTMLResponse)
    def indicator_page(request: Request, indicator_id: int) -> Response:
        reviewer = _session_reviewer(request)
        if reviewer is None:
            return _to_login(request)
        item = indicator_detail(request.app.state.db, indicator_id, reasons=request.app.state.reasons)
        return render(request, "indicator.html.j2", reviewer, item=item)
