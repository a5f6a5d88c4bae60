"""What guards every answer of the workbench: the streamed body limit and the security headers.

The headers: a Content-Security-Policy without inline script (the pages load ``/static/app.js``;
the API docs load Swagger UI from ``/static/swagger`` with ``/static/swagger-init.js``), no framing
(``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``), ``nosniff``, a same-origin referrer
policy, and no caching of answers that carry reviewers' data.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["GuardMiddleware", "MAX_BODY", "CSP", "security_headers"]

MAX_BODY = 64 * 1024

#: Content-Security-Policy of every page: scripts and styles only from this server, never inline.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
# Swagger UI sets style attributes from its script; its own script stays external like ours.
_DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def _too_large(length: object) -> ASGIApp:
    """The E076 answer in the workbench's one JSON error shape."""
    from nlp.web import error_response  # nlp.web imports this module: look it up when first needed

    return error_response("E076", length=length, limit=MAX_BODY)


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The headers added to the answer for ``path``."""
    csp = _DOCS_CSP if path.startswith("/docs") else CSP
    headers = [*_COMMON, (b"content-security-policy", csp.encode("latin-1"))]
    if not path.startswith("/static/"):
        headers.append((b"cache-control", b"no-store"))
    return headers


class GuardMiddleware:
    """Refuses bodies over ``MAX_BODY`` before they are read; adds the security headers to every answer.

    A declared Content-Length over the limit is refused at once. A body without one (chunked) or longer
    than declared is counted as it arrives: once past the limit the app gets no more of it, its answer
    is dropped, and the client gets the 413 (E076) instead.

    Plain ASGI rather than ``@app.middleware("http")``, which costs a task and a stream per request.
    """

    class _TooLarge(Exception):
        """Raised into the app by ``receive`` once the body passes ``MAX_BODY``."""

    def __init__(
        self, app: ASGIApp, *, too_large: Callable[[object], ASGIApp] | None = None, max_body: int = MAX_BODY
    ) -> None:
        self.app = app
        self.too_large = too_large or _too_large
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = security_headers(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        length = dict(scope["headers"]).get(b"content-length", b"0").decode("latin-1")
        if not length.isdigit() or int(length) > self.max_body:
            await self.too_large(length[:20])(scope, receive, send_with_headers)
            return

        received = 0
        over = started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            if over:
                raise self._TooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    over = True
                    raise self._TooLarge
            return message

        async def app_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to a body it could not finish reading: the 413 below replaces it
            if message["type"] == "http.response.start":
                started = True
            await send_with_headers(message)

        try:
            await self.app(scope, counting_receive, app_send)
        except Exception:
            # FastAPI turns a failed body read into its own error answer, but a route or middleware may
            # let it through: either way the cause is the refused body.
            if not over or started:
                raise
        if over and not started:
            await self.too_large(received)(scope, receive, send_with_headers)
