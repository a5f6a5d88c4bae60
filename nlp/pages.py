"""The review pages: server-rendered Jinja2 shells, filled by ``static/app.js`` from the JSON API.

Login is a form with a CSRF token; the session cookie is signed (Starlette's SessionMiddleware),
HttpOnly and SameSite=strict, and names a server-side session (``nlp.auth.open_session``) that logout
revokes. A signed-out or expired session sends the browser to the login page and back where it was.
Page scripts send the session's CSRF token in ``X-CSRF-Token`` on every POST. Errors a browser meets
are HTML pages in Chinese; the API keeps its JSON shape.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from nlp.auth import (
    AuthError,
    Reviewer,
    authenticate,
    csrf_matches,
    new_csrf,
    open_session,
    revoke_session,
    session_reviewer,
)
from nlp.messages_zh import local_time, message_zh
from nlp.review import ACTION_NAMES, CHOICES, indicator_detail, project_detail
from nlp.store import Store
from nlp.taxonomy import label_name

__all__ = ["install_pages", "error_page", "KEYS", "REASON_NAMES"]

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
#: Reason codes a reviewer can filter the queue by, with the names the page shows.
REASON_NAMES: dict[str, str] = {
    "process_item": "过程指标",
    "category_mismatch": "内容与类别不符",
    "satisfaction_misplaced": "满意度放错位置",
    "l2_not_in_l1": "二级不属于一级",
    "timeliness_without_time": "时效指标没有时间要求",
}
_TITLES = {401: "请先登录", 403: "没有权限", 404: "找不到页面", 405: "不支持的操作", 409: "操作冲突",
           413: "内容太大", 429: "请稍后再试", 500: "服务器内部错误"}  # fmt: skip


def _templates() -> Jinja2Templates:
    # Starlette's default only escapes *.html; ours end in .html.j2, so switch escaping on for all.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.globals["label_name"] = label_name
    env.filters["local_time"] = local_time
    return Jinja2Templates(env=env)


TEMPLATES_ENV = _templates()


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf()
    return str(token)


def _session_reviewer(request: Request) -> Reviewer | None:
    db: Store = request.app.state.db
    return session_reviewer(db, request.session.get("sid"))


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    expired = "&expired=1" if request.session.get("sid") else ""
    return RedirectResponse(f"/login?next={quote(target[:200], safe='')}{expired}", status_code=303)


def _safe_next(target: str) -> str:
    # Only local paths: an open redirect after login would hand the session's trust to another site.
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def render(
    request: Request, name: str, reviewer: Reviewer | None, status: int = 200, **context: Any
) -> Response:
    """A page from ``templates/`` with what every page needs (reviewer, CSRF token, keys, choices)."""
    context.update(
        reviewer=reviewer,
        csrf=_csrf(request),
        model_version=request.app.state.model_version,
        keys=KEYS,
        choices=[(str(i + 1), code, label_name(code)) for i, code in enumerate(CHOICES[:9])],
        actions=ACTION_NAMES,
        reason_names=REASON_NAMES,
    )
    return TEMPLATES_ENV.TemplateResponse(request, name, context, status_code=status)


def error_page(request: Request, answer: JSONResponse) -> Response:
    """The HTML page for an error a browser met: its code, the Chinese message and where to go next."""
    body = json.loads(bytes(answer.body))["error"]
    status = answer.status_code
    if status == 401:
        return _to_login(request)
    message = body.get("message_zh") or message_zh(body["code"]) or "请求未能完成。"
    reviewer = _session_reviewer(request)
    return render(request, "error.html.j2", reviewer, status, title=_TITLES.get(status, "出错了"),
                  code=body["code"], message=message)  # fmt: skip


def swagger_ui_files() -> Path | None:
    """Swagger UI 5 (it reads OpenAPI 3.1, which FastAPI writes), as shipped by the swagger-ui-py
    package; found without importing it (its import pulls in every web framework adaptor)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").exists() else None


def _mount_static(app: FastAPI) -> bool:
    """Mount the static files; whether Swagger UI's are there (else /docs says how to get them)."""
    swagger = swagger_ui_files()
    if swagger is not None:
        # Mounted before /static, which would otherwise answer for /static/swagger/… itself.
        app.mount("/static/swagger", StaticFiles(directory=swagger), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return swagger is not None


def install_pages(app: FastAPI) -> None:
    """Mount /static and the page routes on ``app``."""
    has_swagger = _mount_static(app)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        return TEMPLATES_ENV.TemplateResponse(
            request, "docs.html.j2", {"title": app.title, "has_swagger": has_swagger}
        )

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str = "/", expired: str = "") -> Response:  # noqa: A002
        error = message_zh("E090") if expired else ""
        return render(request, "login.html.j2", None, next=_safe_next(next[:200]), error=error)

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        name: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=256)],
        csrf: Annotated[str, Form(max_length=64)] = "",
        next: Annotated[str, Form(max_length=200)] = "/",  # noqa: A002
    ) -> Response:
        target = _safe_next(next)
        if not csrf_matches(request.session.get("csrf"), csrf):
            return render(request, "login.html.j2", None, 403, next=target, error=message_zh("E065"))
        db: Store = request.app.state.db
        try:
            reviewer = authenticate(db, name, password, address=_address(request))
        except AuthError as exc:
            status = 429 if exc.code == "E079" else 401
            error = message_zh(exc.code, **exc.fields)
            return render(request, "login.html.j2", None, status, next=target, error=error)
        # A fresh session on login, so a token planted before login is worthless afterwards.
        request.session.clear()
        sid = open_session(db, reviewer, address=_address(request))
        request.session.update(sid=sid, csrf=new_csrf())
        return RedirectResponse(target, status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: Annotated[str, Form(max_length=64)] = "") -> Response:
        if csrf_matches(request.session.get("csrf"), csrf):
            revoke_session(request.app.state.db, request.session.get("sid"))
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    _page_routes(app)


def _page_routes(app: FastAPI) -> None:
    def shell(name: str) -> Any:
        def page(request: Request) -> Response:
            reviewer = _session_reviewer(request)
            if reviewer is None:
                return _to_login(request)
            return render(request, name, reviewer)

        return page

    for path, name in (("/", "review.html.j2"), ("/clusters", "clusters_browser.html.j2"),
                       ("/mine", "mine.html.j2"), ("/agreement", "agreement.html.j2")):  # fmt: skip
        app.add_api_route(
            path, shell(name), methods=["GET"], include_in_schema=False, response_class=HTMLResponse
        )

    @app.get("/indicators/{indicator_id}", include_in_schema=False, response_class=HTMLResponse)
    def indicator_page(request: Request, indicator_id: int) -> Response:
        reviewer = _session_reviewer(request)
        if reviewer is None:
            return _to_login(request)
        item = indicator_detail(
            request.app.state.db, indicator_id, reasons=request.app.state.reasons, viewer=reviewer.id
        )
        return render(request, "indicator.html.j2", reviewer, item=item)

    @app.get("/projects/{project_id}", include_in_schema=False, response_class=HTMLResponse)
    def project_page(request: Request, project_id: int) -> Response:
        reviewer = _session_reviewer(request)
        if reviewer is None:
            return _to_login(request)
        project = project_detail(
            request.app.state.db, project_id, reasons=request.app.state.reasons, viewer=reviewer.id
        )
        return render(request, "project.html.j2", reviewer, project=project)
