"""The workbench under attack (issue 16, item 3): sessions revoked on logout, sign-in limits with a
lockout an administrator lifts, cookie flags, security headers, the streamed body limit, and every
user-supplied text escaped in every page. Each probe answers as intended: 401/403/400/413/429."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from storekit import FAKE_BUNDLE, FAKE_SERVICES, make_document, sample_store

from nlp import auth
from nlp.annotate import load_documents
from nlp.auth import LIMITS, add_reviewer
from nlp.store import Store
from nlp.web import MAX_BODY, create_app

PASSWORD = "reviewer password 1"
XSS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>')


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    store = sample_store(f"sqlite:///{tmp_path / 'zhibiao.sqlite'}")
    add_reviewer(store, "li", PASSWORD)
    add_reviewer(store, "wang", PASSWORD)
    add_reviewer(store, "admin", "admin password 1", admin=True)
    yield store
    store.close()


def make_client(db: Store, **options: Any) -> TestClient:
    return TestClient(create_app(db, bundle=FAKE_BUNDLE, services=FAKE_SERVICES, secret="s", **options))


@pytest.fixture
def client(db: Store) -> TestClient:
    return make_client(db)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf(?:-token)?" (?:value|content)="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def try_login(client: TestClient, name: str, password: str) -> Any:
    csrf = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"name": name, "password": password, "csrf": csrf}, follow_redirects=False
    )


def login(client: TestClient, name: str = "li", password: str = PASSWORD) -> str:
    response = try_login(client, name, password)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


# ------------------------------------------------------------------------------------------ sessions


def test_logout_revokes_the_session_on_the_server(db: Store, client: TestClient) -> None:
    csrf = login(client)
    stolen = client.cookies.get("zhibiao_session")
    assert client.get("/api/queue").status_code == 200
    client.post("/logout", data={"csrf": csrf}, follow_redirects=False)

    thief = make_client(db)
    thief.cookies.set("zhibiao_session", stolen)  # the cookie as it was before logout
    response = thief.get("/api/queue")
    assert response.status_code == 401 and response.json()["error"]["code"] == "E090"
    page = thief.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2F&expired=1"
    assert "登录已失效" in thief.get(page.headers["location"]).text


def test_an_expired_session_goes_to_the_login_page_and_back(client: TestClient) -> None:
    login(client)
    item = client.get("/api/queue").json()["items"][0]
    with auth_db_session_expired(client):
        page = client.get(f"/indicators/{item['id']}", follow_redirects=False)
    assert page.status_code == 303
    target = page.headers["location"]
    assert target.startswith("/login?next=%2Findicators%2F") and target.endswith("&expired=1")
    csrf = csrf_of(client.get(target).text)
    back = client.post(
        "/login", data={"name": "li", "password": PASSWORD, "csrf": csrf, "next": f"/indicators/{item['id']}"},
        follow_redirects=False,
    )  # fmt: skip
    assert back.status_code == 303 and back.headers["location"] == f"/indicators/{item['id']}"


class auth_db_session_expired:  # noqa: N801 - reads as a sentence in the test
    """Moves every stored session's expiry into the past for the duration of the block."""

    def __init__(self, client: TestClient) -> None:
        self.db: Store = client.app.state.db  # type: ignore[attr-defined]

    def __enter__(self) -> None:
        from sqlalchemy import update

        from nlp.schema import sessions
        from nlp.store import utcnow

        with self.db.write() as conn:
            conn.execute(update(sessions).values(expires_at=utcnow().replace(year=2000)))

    def __exit__(self, *exc: object) -> None:
        return None


def test_session_cookie_is_httponly_and_samesite_and_secure_when_asked(db: Store) -> None:
    plain = try_login(make_client(db), "li", PASSWORD).headers["set-cookie"].lower()
    assert "httponly" in plain and "samesite=strict" in plain and "secure" not in plain
    secure = try_login(make_client(db, secure_cookies=True), "li", PASSWORD).headers["set-cookie"].lower()
    assert "httponly" in secure and "; secure" in secure


def test_serve_takes_secure_cookies_from_the_command_line() -> None:
    from nlp.cli import _build_parser

    args = _build_parser().parse_args(["serve", "--secure-cookies", "--db", "sqlite://"])
    assert args.secure_cookies is True
    assert _build_parser().parse_args(["serve", "--db", "sqlite://"]).secure_cookies is False


# --------------------------------------------------------------------------------- sign-in limits


def test_too_many_wrong_passwords_lock_the_account_until_an_admin_lifts_it(
    db: Store, client: TestClient
) -> None:
    for _ in range(LIMITS["per_account"]):
        assert try_login(client, "li", "wrong password").status_code == 401
    locked = try_login(client, "li", PASSWORD)  # the right password, too late
    assert locked.status_code == 429 and "已锁定" in locked.text and "li" in locked.text
    assert try_login(client, "wang", PASSWORD).status_code == 303  # other accounts are not locked

    from nlp.cli import main

    assert main(["user", "unlock", "li", "--db", db.url]) == 0
    assert try_login(make_client(db), "li", PASSWORD).status_code == 303


def test_failures_from_one_address_across_accounts_lock_that_address(db: Store, client: TestClient) -> None:
    for n in range(LIMITS["per_address"]):
        assert try_login(client, f"nobody{n}", "wrong password").status_code == 401
    assert try_login(client, "wang", PASSWORD).status_code == 429  # testclient is one address
    assert auth.unlock(db, address="testclient") == LIMITS["per_address"]
    assert try_login(client, "wang", PASSWORD).status_code == 303


def test_unlocking_an_unknown_account_says_so(db: Store) -> None:
    from nlp.cli import main

    assert main(["user", "unlock", "nobody", "--db", db.url]) == 1


def test_a_locked_account_is_refused_before_its_password_is_hashed(
    db: Store, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(LIMITS["per_account"]):
        try_login(client, "li", "wrong password")
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, *args: Any) -> bool:
            calls.append("verify")
            return super().verify(*args)

    monkeypatch.setattr(auth, "_hasher", Counting(time_cost=1, memory_cost=1024, parallelism=1))
    assert try_login(client, "li", PASSWORD).status_code == 429 and calls == []
    assert try_login(client, "wang", PASSWORD).status_code == 303 and calls == ["verify"]


# ------------------------------------------------------------------------------------------ headers


@pytest.mark.parametrize("path", ["/login", "/api/health", "/static/app.js", "/docs", "/no/such/page"])
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path, headers={"Accept": "text/html"}).headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline' ;" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"


# ------------------------------------------------------------------------------------------- probes


def test_a_chunked_body_over_the_limit_is_refused_before_authentication(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY // 1024 + 2):
            yield b"x" * 1024

    response = client.post("/api/decisions", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "E076"


PROBES = [
    ("no-login", "GET", "/api/queue", None, None, 401, "E063"),
    ("forged-token", "GET", "/api/queue", None, "bearer-forged", 401, "E063"),
    ("no-csrf", "POST", "/api/decisions", {"indicator_id": 1, "action": "keep"}, "session", 403, "E065"),
    ("not-admin", "GET", "/api/export", None, "session", 403, "E064"),
    (
        "not-admin-assign",
        "POST",
        "/api/assignments",
        {"reviewers": ["li", "wang"]},
        "session-csrf",
        403,
        "E064",
    ),
    ("bad-json", "POST", "/api/decisions", "{", "session-csrf", 400, "E068"),
    ("bad-format", "GET", "/api/export?format=pdf", None, "admin", 400, "E071"),
    ("bad-filter", "GET", "/api/queue?tier=everything", None, "session", 422, "E061"),
    ("bad-scope", "GET", "/api/bulk/preview?indicator_id=1&scope=all", None, "session", 422, "E061"),
    ("too-large", "POST", "/api/decisions", "x" * (MAX_BODY + 1), "session-csrf", 413, "E076"),
]


@pytest.mark.parametrize(("method", "path", "body", "who", "status", "code"), [p[1:] for p in PROBES],
                         ids=[p[0] for p in PROBES])  # fmt: skip
def test_probes_answer_as_intended(
    db: Store, client: TestClient, method: str, path: str, body: Any, who: str | None, status: int, code: str
) -> None:
    headers: dict[str, str] = {}
    if who and who.startswith("session"):
        csrf = login(client)
        if who == "session-csrf":
            headers["X-CSRF-Token"] = csrf
    elif who == "admin":
        login(client, "admin", "admin password 1")
    elif who == "bearer-forged":
        headers["Authorization"] = "Bearer zb_forged"
    if isinstance(body, str):
        response = client.request(
            method, path, content=body, headers={**headers, "Content-Type": "application/json"}
        )
    else:
        response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and re.search(r"[\u4e00-\u9fff]", error["message_zh"])


# ---------------------------------------------------------------------------------------- escaping


def test_hostile_names_and_goals_are_escaped_on_every_page(db: Store, client: TestClient) -> None:
    evil = make_document("066_x", XSS[0], [XSS[1]], table=[(XSS[2], "产出指标", "质量指标", "12", XSS[0])])
    load_documents(db, [evil], bundle=FAKE_BUNDLE, services=FAKE_SERVICES)
    login(client)
    item = client.get("/api/indicators", params={"department": XSS[0]}).json()["items"][0]
    pages = [f"/indicators/{item['id']}", f"/projects/{item['project_id']}", "/", "/clusters", "/mine",
             "/agreement", "/login?next=/%22%3E%3Cscript%3Ealert(1)%3C/script%3E", "/" + XSS[0]]  # fmt: skip
    for path in pages:
        html = client.get(path, headers={"Accept": "text/html"}).text
        for payload in XSS:
            assert payload not in html, (path, payload)
    detail = client.get(f"/indicators/{item['id']}").text
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in detail and "&lt;img src=x onerror=alert(1)&gt;" in detail
    )


# ---------------------------------------------------------------------------------------- Chinese


def test_a_missing_page_is_an_html_page_in_chinese(client: TestClient) -> None:
    login(client)
    response = client.get("/indicators/99999", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "找不到" in response.text and "E062" in response.text
    api = client.get("/api/indicators/99999")  # the API keeps its coded shape
    assert api.status_code == 404 and api.json()["error"]["message_zh"].startswith("找不到指标")


def test_api_docs_and_favicon_are_served_from_this_server(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "cdn" not in html.lower() and "http" not in html.lower().replace("http-equiv", "")
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset
    assert "/static/swagger/swagger-ui-bundle.js" in html
    assert client.get("/favicon.ico").headers["content-type"].startswith("image/svg")


def test_decision_times_are_shown_in_beijing_time(db: Store, client: TestClient) -> None:
    from nlp.messages_zh import local_time

    csrf = login(client)
    item = client.get("/api/queue").json()["items"][0]
    saved = client.post("/api/decisions", json={"indicator_id": item["id"], "action": "keep"},
                        headers={"X-CSRF-Token": csrf}).json()  # fmt: skip
    page = client.get(f"/indicators/{item['id']}").text
    assert "北京时间" in page and local_time(saved["time"]) in page
    assert local_time("2026-03-01T20:30:00Z") == "2026-03-02 04:30"


def test_every_code_the_workbench_answers_with_has_a_chinese_message() -> None:
    from nlp.messages_zh import MESSAGES_ZH

    root = Path(__file__).resolve().parents[1] / "nlp"
    sources = ["web.py", "web_guard.py", "web_review.py", "pages.py", "review.py", "review_rows.py",
               "review_groups.py", "review_double.py", "auth.py", "workbook.py"]  # fmt: skip
    used = set()
    for name in sources:
        used |= set(re.findall(r'"(E0[6-9]\d)"', (root / name).read_text(encoding="utf-8")))
    assert used and sorted(code for code in used if code not in MESSAGES_ZH) == []
