"""The web API and page, in-process (fastapi TestClient), on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from storekit import FAKE_BUNDLE, FAKE_SERVICES, sample_documents, store_url

from nlp import auth
from nlp.annotate import load_documents
from nlp.auth import add_reviewer
from nlp.schema import decisions, indicators, reviewers
from nlp.store import Store, open_store
from nlp.web import MAX_BODY, create_app


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's production cost takes ~0.3 s a hash on this machine; the tests only need the behaviour."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store = open_store(store_url(request.param, tmp_path))
    load_documents(store, sample_documents(), bundle=FAKE_BUNDLE, services=FAKE_SERVICES)
    yield store
    store.close()


@pytest.fixture
def tokens(db: Store) -> dict[str, str]:
    return {
        "admin": add_reviewer(db, "admin", "admin password 1", admin=True)[1],
        "li": add_reviewer(db, "li", "reviewer password 1")[1],
        "wang": add_reviewer(db, "wang", "reviewer password 2")[1],
    }


@pytest.fixture
def client(db: Store) -> TestClient:
    return TestClient(create_app(db, bundle=FAKE_BUNDLE, services=FAKE_SERVICES, secret="test-secret"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def row_counts(db: Store) -> tuple[int, ...]:
    with db.read() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (decisions, indicators, reviewers)
        )


def first_in_queue(client: TestClient, token: str) -> dict[str, Any]:
    return client.get("/api/queue", headers=bearer(token)).json()["items"][0]


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "message_zh", "field"}
    assert body["error"]["code"] == code and body["error"]["message"]
    assert re.search(r"[\u4e00-\u9fff]", body["error"]["message_zh"]), body  # a reviewer reads Chinese
    if field is not None:
        assert body["error"]["field"] == field


# -------------------------------------------------------------------------------------------- reading


def test_health_answers_without_login(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["model_version"] == "fake-1" and body["indicators"] == 15


@pytest.mark.parametrize(
    "path",
    [
        "/api/suggest?name=资金到位率",
        "/api/indicators",
        "/api/queue",
        "/api/clusters",
        "/api/export",
        "/api/counts",
    ],
)
def test_reading_endpoints_need_a_reviewer(client: TestClient, path: str) -> None:
    assert_error(client.get(path), 401, "E063")
    assert_error(client.get(path, headers=bearer("zb_not-a-token")), 401, "E063")


def test_suggest_gives_category_probability_and_reason(client: TestClient, tokens: dict[str, str]) -> None:
    body = client.get(
        "/api/suggest", params={"name": "服务对象满意度", "value": "≥90%"}, headers=bearer(tokens["li"])
    ).json()
    assert (body["code"], body["l1"], body["l2"]) == ("31", "满意度指标", "服务对象满意度指标")
    assert body["top"][0] == {"code": "31", "name": "服务对象满意度指标", "p": 0.95}
    assert body["reason"] and body["model_version"] == "fake-1"
    assert body["process_probability"] == 0.05


def test_suggest_says_when_a_name_is_likely_a_process_item(
    client: TestClient, tokens: dict[str, str]
) -> None:
    body = client.get("/api/suggest", params={"name": "资金到位率"}, headers=bearer(tokens["li"])).json()
    assert body["process_probability"] == 0.9


@pytest.mark.parametrize(
    ("params", "total"),
    [({"q": "满意"}, 3), ({"department": "医保中心"}, 5), ({"flagged": "true"}, 9), ({"flagged": "false"}, 6),
     ({"q": "满意", "department": "社保局"}, 2)],
    ids=["text", "department", "flagged", "not-flagged", "text-and-department"],
)  # fmt: skip
def test_indicator_search_filters(
    client: TestClient, tokens: dict[str, str], params: dict[str, str], total: int
) -> None:
    body = client.get("/api/indicators", params=params, headers=bearer(tokens["li"])).json()
    assert body["total"] == total
    assert all(params.get("q", "") in item["name"] for item in body["items"])


def test_indicator_search_by_cluster_lists_its_members(client: TestClient, tokens: dict[str, str]) -> None:
    clusters = client.get("/api/clusters", headers=bearer(tokens["li"])).json()
    first = clusters["items"][0]
    assert clusters["total"] == 5 and len(first["members"]) == first["size"] == 3
    found = client.get(
        "/api/indicators", params={"cluster": first["id"]}, headers=bearer(tokens["li"])
    ).json()
    assert {item["name"] for item in found["items"]} == {first["representative"]}


def test_queue_puts_the_most_likely_flags_first_and_counts_what_is_left(
    client: TestClient, tokens: dict[str, str]
) -> None:
    body = client.get("/api/queue", headers=bearer(tokens["li"])).json()
    scores = [item["flag"]["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert body["items"][0]["flag"]["reasons"] == [{"code": "process_item", "label": "过程指标"}]
    assert body["counts"]["left"] == 9


def test_openapi_documents_every_api_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        "/api/suggest",
        "/api/indicators",
        "/api/queue",
        "/api/decisions",
        "/api/clusters",
        "/api/export",
        "/api/health",
    }
    assert expected <= set(paths)
    assert client.get("/docs").status_code == 200


# ------------------------------------------------------------------------------------------ deciding


def test_a_decision_is_recorded_and_exported_with_reviewer_and_time(
    client: TestClient, tokens: dict[str, str]
) -> None:
    item = first_in_queue(client, tokens["li"])
    response = client.post("/api/decisions", json={"indicator_id": item["id"], "action": "accept", "comment": "资金到位"},
                           headers=bearer(tokens["li"]))  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["code_after"] == "PR" and response.json()["reviewer"] == "li"

    export = client.get("/api/export", params={"format": "csv"}, headers=bearer(tokens["admin"]))
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert (rows[0]["reviewer"], rows[0]["indicator"], rows[0]["code_after"]) == ("li", item["name"], "PR")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["time_utc"])
    assert rows[0]["model_version"] == "fake-1" and rows[0]["in_force"] == "yes"


def test_export_as_xlsx_holds_the_same_rows(client: TestClient, tokens: dict[str, str]) -> None:
    from openpyxl import load_workbook

    item = first_in_queue(client, tokens["li"])
    client.post(
        "/api/decisions", json={"indicator_id": item["id"], "action": "keep"}, headers=bearer(tokens["li"])
    )
    export = client.get("/api/export", params={"format": "xlsx"}, headers=bearer(tokens["admin"]))
    sheet = load_workbook(io.BytesIO(export.content)).active
    header, *rows = list(sheet.values)
    assert header[:3] == ("decision_id", "time_utc", "reviewer") and len(rows) == 1


def test_export_is_for_administrators_only(client: TestClient, tokens: dict[str, str]) -> None:
    assert_error(client.get("/api/export", headers=bearer(tokens["li"])), 403, "E064")
    assert_error(client.get("/api/export?format=pdf", headers=bearer(tokens["admin"])), 400, "E071", "format")


def test_concurrent_reviewers_keep_both_decisions_and_the_page_shows_the_disagreement(
    client: TestClient, tokens: dict[str, str]
) -> None:
    item = first_in_queue(client, tokens["li"])
    for who, code in (("li", "12"), ("wang", "22")):
        body = {"indicator_id": item["id"], "action": "choose", "code": code}
        assert client.post("/api/decisions", json=body, headers=bearer(tokens[who])).status_code == 201
    detail = client.get(f"/api/indicators/{item['id']}", headers=bearer(tokens["li"])).json()
    assert detail["disagreement"] and detail["decision"]["code"] == "22" and len(detail["history"]) == 2
    assert client.get("/api/counts", headers=bearer(tokens["li"])).json()["disputed"] == 1
    listed = client.get("/api/indicators", params={"disputed": "true"}, headers=bearer(tokens["li"])).json()
    assert [i["id"] for i in listed["items"]] == [item["id"]]


def test_undo_withdraws_ones_own_decision(client: TestClient, tokens: dict[str, str]) -> None:
    item = first_in_queue(client, tokens["li"])
    client.post(
        "/api/decisions", json={"indicator_id": item["id"], "action": "accept"}, headers=bearer(tokens["li"])
    )
    assert first_in_queue(client, tokens["li"])["id"] != item["id"]
    undo = client.post(
        "/api/decisions", json={"indicator_id": item["id"], "action": "undo"}, headers=bearer(tokens["li"])
    )
    assert undo.status_code == 201 and undo.json()["undoes"]
    assert first_in_queue(client, tokens["li"])["id"] == item["id"]
    again = client.post(
        "/api/decisions", json={"indicator_id": item["id"], "action": "undo"}, headers=bearer(tokens["li"])
    )
    assert_error(again, 409, "E075")


@pytest.mark.slow
def test_twenty_threads_posting_decisions_lose_none(db: Store, tokens: dict[str, str]) -> None:
    app = create_app(db, bundle=FAKE_BUNDLE, services=FAKE_SERVICES, secret="test-secret")
    ids = [
        item["id"]
        for item in TestClient(app).get("/api/queue", headers=bearer(tokens["li"])).json()["items"][:3]
    ]
    per_thread, threads, failures = 5, 20, []
    before = row_counts(db)[0]

    def post(n: int) -> None:
        with TestClient(app) as own:
            who = ("li", "wang", "admin")[n % 3]
            for k in range(per_thread):
                body = {
                    "indicator_id": ids[(n + k) % len(ids)],
                    "action": "choose",
                    "code": ("11", "22", "31")[k % 3],
                }
                response = own.post("/api/decisions", json=body, headers=bearer(tokens[who]))
                if response.status_code != 201:
                    failures.append(response.text)

    workers = [threading.Thread(target=post, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert row_counts(db)[0] - before == threads * per_thread


# ------------------------------------------------------------------------------------------ bad input


BAD_REQUESTS = [
    ("oversized-name", "GET", "/api/suggest?name=" + "长" * 201, None, "li", 422, "E067", "name"),
    (
        "oversized-comment",
        "POST",
        "/api/decisions",
        {"indicator_id": 1, "action": "keep", "comment": "x" * 1001},
        "li",
        422,
        "E067",
        "comment",
    ),
    ("page-size", "GET", "/api/indicators?size=1000", None, "li", 422, "E061", "size"),
    (
        "unknown-code",
        "POST",
        "/api/decisions",
        {"indicator_id": 1, "action": "choose", "code": "99"},
        "li",
        400,
        "E066",
        None,
    ),
    (
        "sql-in-code",
        "POST",
        "/api/decisions",
        {"indicator_id": 1, "action": "choose", "code": "1';--"},
        "li",
        422,
        "E067",
        "code",
    ),
    (
        "sql-in-action",
        "POST",
        "/api/decisions",
        {"indicator_id": 1, "action": "x' OR 1=1"},
        "li",
        400,
        "E061",
        "action",
    ),
    ("no-reviewer", "POST", "/api/decisions", {"indicator_id": 1, "action": "keep"}, None, 401, "E063", None),
    (
        "unknown-indicator",
        "POST",
        "/api/decisions",
        {"indicator_id": 99999, "action": "keep"},
        "li",
        404,
        "E062",
        None,
    ),
    ("missing-field", "POST", "/api/decisions", {"action": "keep"}, "li", 422, "E061", "indicator_id"),
    ("malformed-json", "POST", "/api/decisions", '{"indicator_id": 1, "action": ', "li", 400, "E068", None),
    ("unknown-route", "GET", "/api/nothing-here", None, "li", 404, "E062", None),
    ("wrong-method", "DELETE", "/api/decisions", None, "li", 405, "E072", None),
    ("unknown-page", "GET", "/no/such/page", None, None, 404, "E062", None),
]


@pytest.mark.parametrize(("method", "path", "body", "who", "status", "code", "field"),
                         [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS])  # fmt: skip
def test_bad_requests_get_the_error_shape_and_change_nothing(
    client: TestClient, db: Store, tokens: dict[str, str], method: str, path: str, body: Any, who: str | None,
    status: int, code: str, field: str | None,
) -> None:  # fmt: skip
    before = row_counts(db)
    headers = bearer(tokens[who]) if who else {}
    if isinstance(body, str):
        response = client.request(
            method, path, content=body, headers={**headers, "Content-Type": "application/json"}
        )
    else:
        response = client.request(method, path, json=body, headers=headers)
    assert_error(response, status, code, field)
    assert row_counts(db) == before


def test_a_crash_answers_with_the_error_shape_too(db: Store, tokens: dict[str, str]) -> None:
    def broken(bundle: Any, indicators: Any) -> list[Any]:
        raise RuntimeError("model exploded")

    app = create_app(db, bundle=FAKE_BUNDLE, services=replace(FAKE_SERVICES, suggest_many=broken), secret="s")
    response = TestClient(app, raise_server_exceptions=False).get(
        "/api/suggest", params={"name": "资金到位率"}, headers=bearer(tokens["li"])
    )
    assert_error(response, 500, "E073")
    assert "model exploded" not in response.text  # internals stay in the server log


def test_sql_metacharacters_in_search_are_plain_text(
    client: TestClient, db: Store, tokens: dict[str, str]
) -> None:
    before = row_counts(db)
    for q in ("'; DROP TABLE decisions; --", '" OR 1=1 --', "%_\\"):
        response = client.get("/api/indicators", params={"q": q}, headers=bearer(tokens["li"]))
        assert response.status_code == 200 and response.json()["total"] == 0
    assert row_counts(db) == before


def test_an_oversized_body_is_refused_before_it_is_read(
    client: TestClient, db: Store, tokens: dict[str, str]
) -> None:
    before = row_counts(db)
    response = client.post("/api/decisions", content=b"x" * (MAX_BODY + 1),
                           headers={**bearer(tokens["li"]), "Content-Type": "application/json"})  # fmt: skip
    assert_error(response, 413, "E076")
    assert row_counts(db) == before


# ------------------------------------------------------------------------------------ page and session


def login(client: TestClient, name: str, password: str) -> str:
    page = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf": csrf}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]


def test_the_page_asks_for_login_first(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_login_with_a_wrong_password_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    page = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"name": "li", "password": "nope nope", "csrf": csrf})
    assert response.status_code == 401 and "用户名或密码错误" in response.text


def test_login_form_without_csrf_token_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"name": "li", "password": "reviewer password 1"}, follow_redirects=False
    )
    assert response.status_code == 403 and "过期" in response.text


def test_review_page_shows_queue_legend_and_departments(client: TestClient, tokens: dict[str, str]) -> None:
    login(client, "li", "reviewer password 1")
    page = client.get("/").text
    for text in ("审核队列", "快捷键", "接受建议", "保留申报类别", "过程指标", "撤销", "部门", "待审"):
        assert text in page
    assert client.get("/clusters").status_code == 200
    assert client.get("/api/departments").json() == ["医保中心", "社保局"]


def test_page_posts_need_the_csrf_token(client: TestClient, db: Store, tokens: dict[str, str]) -> None:
    csrf = login(client, "li", "reviewer password 1")
    item_id = client.get("/api/queue").json()["items"][0]["id"]
    before = row_counts(db)
    assert_error(client.post("/api/decisions", json={"indicator_id": item_id, "action": "keep"}), 403, "E065")
    assert_error(client.post("/api/decisions", json={"indicator_id": item_id, "action": "keep"},
                             headers={"X-CSRF-Token": "forged"}), 403, "E065")  # fmt: skip
    assert row_counts(db) == before
    ok = client.post(
        "/api/decisions", json={"indicator_id": item_id, "action": "keep"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 201 and ok.json()["reviewer"] == "li"


def test_indicator_page_shows_history_and_disagreement(client: TestClient, tokens: dict[str, str]) -> None:
    item = first_in_queue(client, tokens["li"])
    for who, code in (("li", "12"), ("wang", "22")):
        client.post("/api/decisions", json={"indicator_id": item["id"], "action": "choose", "code": code},
                    headers=bearer(tokens[who]))  # fmt: skip
    login(client, "admin", "admin password 1")
    page = client.get(f"/indicators/{item['id']}").text
    assert "审核意见不一" in page and "wang" in page and "质量指标" in page


def test_logout_ends_the_session(client: TestClient, tokens: dict[str, str]) -> None:
    csrf = login(client, "li", "reviewer password 1")
    client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert_error(client.get("/api/queue"), 401, "E063")


def test_document_text_is_escaped_in_the_page(client: TestClient, db: Store, tokens: dict[str, str]) -> None:
    from storekit import make_document

    evil = make_document("009_x", "<script>alert(1)</script>", ["<img src=x onerror=alert(1)>"])
    load_documents(db, [evil], bundle=FAKE_BUNDLE, services=FAKE_SERVICES)
    login(client, "li", "reviewer password 1")
    found = client.get("/api/indicators", params={"department": "<script>alert(1)</script>"}).json()["items"][
        0
    ]
    page = client.get(f"/indicators/{found['id']}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
