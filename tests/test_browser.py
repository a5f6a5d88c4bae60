"""The review page in a real browser: Debian's chromium driven by Playwright, against the real server,
model and parser on two seed documents. Skips (with the reason) where /usr/bin/chromium is missing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from storekit import live_server

from nlp.annotate import load_documents
from nlp.auth import add_reviewer
from nlp.schema import decisions, reviewers
from nlp.store import Store, open_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
PASSWORD = "browser test password"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, raw_dir: Path) -> Iterator[tuple[Store, str]]:
    from nlp.corpus import ensure_model
    from nlp.parse import parse_paths
    from nlp.web import create_app

    db = open_store(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'zhibiao.sqlite'}")
    paths = [next(raw_dir.glob(f"{prefix}_*.txt")) for prefix in ("000", "003")]
    bundle = ensure_model()
    report = load_documents(db, parse_paths(paths), bundle=bundle)
    assert report.flagged > 0, "the subset must leave something in the queue"
    add_reviewer(db, "chen", PASSWORD, admin=True)
    with live_server(create_app(db, bundle=bundle)) as url:
        yield db, url
    db.close()


def test_reviewer_logs_in_searches_and_accepts_from_the_queue(
    browser: Any, served: tuple[Store, str]
) -> None:
    db, url = served
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.goto(f"{url}/")
    page.fill("input[name=name]", "chen")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_selector("#card:not([hidden])")
    page.fill("#search", "资金到位率")
    suggestion = page.wait_for_selector("#suggestion:not([hidden])")
    assert re.search(r"(建议类别|过程指标).*\d+%", suggestion.inner_text(), re.S)
    page.wait_for_selector("#matches li")

    first = page.inner_text("#card [data-f=name]")
    page.locator("#search").blur()  # shortcuts act only outside text fields
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "review-page.png"), full_page=True)
    page.keyboard.press("a")
    page.wait_for_selector("#toast.ok")
    assert first in page.inner_text("#toast")

    with db.read() as conn:
        rows = conn.execute(
            select(decisions.c.action, decisions.c.created_at, reviewers.c.name).join(
                reviewers, reviewers.c.id == decisions.c.reviewer_id
            )
        ).all()
    assert [(r.action, r.name) for r in rows] == [("accept", "chen")]

    export = page.request.get(f"{url}/api/export?format=csv")
    assert export.ok
    exported = list(csv.DictReader(io.StringIO(export.body().decode("utf-8-sig"))))
    assert [(r["reviewer"], r["indicator"], r["action"]) for r in exported] == [("chen", first, "accept")]
    assert exported[0]["time_utc"] == rows[0].created_at.isoformat(timespec="seconds") + "Z"
    page.close()


def test_cluster_browser_shows_members_side_by_side(browser: Any, served: tuple[Store, str]) -> None:
    _db, url = served
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.goto(f"{url}/login")
    page.fill("input[name=name]", "chen")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{url}/clusters")
    page.wait_for_selector(".cluster .member")
    assert page.locator(".cluster").first.locator(".member:visible").count() >= 2
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "clusters-page.png"))
    page.close()
