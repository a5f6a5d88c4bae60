"""A reviewer's day in a real browser (issue 15's first Done-when check), Debian's chromium driven by
Playwright against the real server, model and parser on the five seed documents:

log in (from a deep link, and back there) → project page → filter by reason → bulk-accept a
boilerplate group (preview count checked) → undo it → decide three items by keyboard → export; a
second reviewer decides the same items blind in assignment mode; κ is shown. Screenshots of every
page go to test-output/; every rendered page is checked for English sentences meant for reviewers
and for characters drawn as missing-glyph boxes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from storekit import live_server

from nlp.annotate import load_documents
from nlp.auth import add_reviewer
from nlp.schema import bulk_actions, decisions, reviewers
from nlp.store import Store, open_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
PASSWORD = "browser test password"

# Text a reviewer is not meant to read as prose: codes, commands, file names, the model version.
_NOT_PROSE = "code, kbd, .doc, .model, .hint code, script, style"
# Three or more English words in a row: a sentence meant for reviewers that was left in English.
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,.'’-]+[A-Za-z]{2,}){2,}")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, raw_dir: Path
) -> Iterator[tuple[Store, str, dict[str, str]]]:
    from nlp.corpus import ensure_model
    from nlp.parse import parse_paths
    from nlp.web import create_app

    db = open_store(f"sqlite:///{tmp_path_factory.mktemp('walk') / 'zhibiao.sqlite'}")
    bundle = ensure_model()
    load_documents(db, parse_paths(sorted(raw_dir.glob("*.txt"))), bundle=bundle)
    tokens = {
        "chen": add_reviewer(db, "chen", PASSWORD, admin=True)[1],
        "li": add_reviewer(db, "li", PASSWORD)[1],
        "wang": add_reviewer(db, "wang", PASSWORD)[1],
    }
    with live_server(create_app(db, bundle=bundle)) as url:
        yield db, url, tokens
    db.close()


def shoot(page: Any, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def english_sentences(page: Any) -> list[str]:
    """Sentences of three or more English words in the page's visible text (codes and commands aside)."""
    text = page.evaluate(
        """(skip) => { const body = document.body.cloneNode(true);
             body.querySelectorAll(skip).forEach((n) => n.remove());
             return body.innerText; }""",
        _NOT_PROSE,
    )
    return ENGLISH.findall(text)


def missing_glyphs(page: Any) -> list[str]:
    """Characters of the page's text that the browser can only draw as the missing-glyph box: each is
    drawn in the body's font and compared, pixel for pixel, with a code point no font has."""
    return list(
        page.evaluate(
            """() => {
      const font = getComputedStyle(document.body).fontSize + " " + getComputedStyle(document.body).fontFamily;
      const canvas = document.createElement("canvas"); canvas.width = 40; canvas.height = 40;
      const ctx = canvas.getContext("2d");
      const draw = (ch) => { ctx.clearRect(0, 0, 40, 40); ctx.font = font; ctx.fillText(ch, 4, 30);
                             return ctx.getImageData(0, 0, 40, 40).data.join(","); };
      const tofu = draw("\\u{10FFFD}");
      const seen = new Set(document.body.innerText.replace(/[\\s\\x00-\\x7f]/g, ""));
      return [...seen].filter((ch) => draw(ch) === tofu);
    }"""
        )
    )


def check_page(page: Any, name: str) -> None:
    shoot(page, name)
    assert english_sentences(page) == [], name
    assert missing_glyphs(page) == [], name


def login_at(page: Any, url: str, name: str) -> None:
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def decisions_by(db: Store, name: str) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(decisions)
                .join(reviewers, reviewers.c.id == decisions.c.reviewer_id)
                .where(reviewers.c.name == name)
                .order_by(decisions.c.id)
            ).all()
        )


def decided_by(db: Store, name: str) -> list[Any]:
    """The reviewer's decisions in force that are not part of a bulk action (made by keyboard here)."""
    from nlp.schema import bulk_decisions

    linked = {0}
    with db.read() as conn:
        linked |= set(conn.execute(select(bulk_decisions.c.decision_id)).scalars())
    return [d for d in decisions_by(db, name) if d.id not in linked and d.action not in ("skip", "undo")]


def press_and_wait(page: Any, key: str, done: Any, *, timeout: float = 30.0) -> None:
    """Press ``key`` once the page is idle, then wait until ``done()`` holds and the page is idle again."""
    import time

    page.wait_for_function("() => !document.body.dataset.busy")
    page.keyboard.press(key)
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"key {key!r} was not recorded"
        page.wait_for_timeout(50)
    page.wait_for_function("() => !document.body.dataset.busy")


def test_a_reviewers_day(browser: Any, served: tuple[Store, str, dict[str, str]], tmp_path: Path) -> None:
    db, url, tokens = served
    admin = {"Authorization": f"Bearer {tokens['chen']}"}
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()

    # A deep link while signed out: the login page, then back to the project page.
    first = page.request.get(f"{url}/api/queue", headers=admin).json()["items"][0]
    page.goto(f"{url}/projects/{first['project_id']}")
    assert "/login?next=" in page.url
    check_page(page, "walk-01-login")
    login_at(page, url, "li")
    assert page.url.endswith(f"/projects/{first['project_id']}")
    assert (
        page.inner_text("h1").startswith(first["project"])
        and page.locator("table.indicator-set tr").count() > 3
    )
    check_page(page, "walk-02-project")

    # Filter by reason, bulk-accept the boilerplate group, check the preview count, undo it.
    page.goto(f"{url}/")
    page.select_option("#reason", "satisfaction_misplaced")
    page.wait_for_function(
        "() => document.querySelector('#card [data-f=name]').textContent.includes('满意度')"
    )
    card_id = int(page.get_attribute("#card [data-f=name]", "href").rsplit("/", 1)[1])
    expected = page.request.get(
        f"{url}/api/bulk/preview?indicator_id={card_id}&scope=cluster", headers=admin
    ).json()["count"]
    assert expected > 5
    page.click("[data-bulk=cluster]")
    page.wait_for_selector("#bulk-preview:not([hidden])")
    assert f" {expected} 条指标" in page.inner_text("#bulk-preview")
    check_page(page, "walk-03-bulk-preview")
    before = len(decisions_by(db, "li"))
    page.click("#bulk-confirm")
    page.wait_for_selector("#toast.ok")
    assert f"已批量记录 {expected} 条" in page.inner_text("#toast")
    assert len(decisions_by(db, "li")) - before == expected
    press_and_wait(page, "u", lambda: len(decisions_by(db, "li")) - before == 2 * expected)  # each undone
    assert "已撤销整批" in page.inner_text("#toast")
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(bulk_actions)).scalar_one() == 2

    # Assignment mode: the admin gives three items to li and wang; li decides them by keyboard.
    assigned = page.request.post(
        f"{url}/api/assignments", headers=admin, data={"reviewers": ["li", "wang"], "limit": 3}
    )
    assert assigned.ok and assigned.json()["assigned"] == 6
    page.goto(f"{url}/?mine=1")
    page.wait_for_selector("#card:not([hidden])")
    assert "分配给我：3 条待审" in page.inner_text("#scope-note")
    shown = []
    for n, key in enumerate(("a", "k", "2"), start=1):
        shown.append(page.get_attribute("#card .suggested", "data-suggested-code"))
        press_and_wait(page, key, lambda n=n: len(decided_by(db, "li")) == n)
    li = decided_by(db, "li")
    assert [d.action for d in li[-3:]] == ["accept", "keep", "choose"]
    assert li[-3].code_after == shown[0] and li[-1].code_after == "12"
    check_page(page, "walk-04-queue-done")

    # Export the reviewer workbook from the header link.
    with page.expect_download() as download:
        page.click("text=审核表 Excel")
    from openpyxl import load_workbook

    saved = tmp_path / "review.xlsx"
    download.value.save_as(saved)
    assert "审核结论" in [c.value for c in load_workbook(saved)["审核表"][1]]

    # The second reviewer decides the same items blind.
    other = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN").new_page()
    other.goto(f"{url}/?mine=1")
    login_at(other, url, "wang")
    other.wait_for_selector("#card:not([hidden])")
    first_id = int(other.get_attribute("#card [data-f=name]", "href").rsplit("/", 1)[1])
    assert first_id in {d.indicator_id for d in li[-3:]}
    blind = other.request.get(f"{url}/api/indicators/{first_id}").json()
    assert blind["blind"] and [h["reviewer"] for h in blind["history"]] == []
    for n, key in enumerate(("a", "k", "3"), start=1):
        press_and_wait(other, key, lambda n=n: len(decided_by(db, "wang")) == n)
    assert len(decided_by(db, "wang")) == 3

    other.goto(f"{url}/agreement")
    other.wait_for_selector("#kappa td.kappa")
    row = other.inner_text("#kappa tbody tr")
    assert "li / wang" in row and re.search(r"-?\d\.\d\d", other.inner_text("#kappa td.kappa"))
    check_page(other, "walk-05-agreement")
    other.context.close()
    context.close()


@pytest.mark.parametrize(
    "path", ["/", "/clusters", "/mine", "/agreement", "/indicators/1", "/projects/1", "/no/such/page"]
)
def test_pages_speak_chinese_and_draw_every_glyph(
    browser: Any, served: tuple[Store, str, dict[str, str]], path: str
) -> None:
    _db, url, _tokens = served
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.goto(f"{url}/login")
    login_at(page, url, "chen")
    page.goto(f"{url}{path}")
    page.wait_for_load_state("networkidle")
    check_page(page, "page" + (path.replace("/", "-") if path != "/" else "-queue"))
    page.close()


def test_header_fits_a_phone(browser: Any, served: tuple[Store, str, dict[str, str]]) -> None:
    _db, url, _tokens = served
    page = browser.new_page(viewport={"width": 375, "height": 740}, locale="zh-CN")
    page.goto(f"{url}/login")
    login_at(page, url, "chen")
    page.goto(f"{url}/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    header = page.locator("header.top").bounding_box()
    assert header["width"] <= 376
    page.click("label.menu-toggle")
    assert page.locator("header.top nav a[href='/mine']").is_visible()
    shoot(page, "phone-queue")
    page.close()


def test_the_report_draws_every_glyph(browser: Any, tmp_path: Path, seed_paths: dict[str, Path]) -> None:
    from nlp.cli import main

    out = tmp_path / "audit.html"
    assert main(["audit", str(seed_paths["000"]), "--out", str(out)]) == 0
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page.goto(out.as_uri())
    assert page.locator("svg.chart text").count() > 3
    check_page(page, "report-audit")
    page.close()


def test_api_docs_render_without_any_network(browser: Any, served: tuple[Store, str, dict[str, str]]) -> None:
    _db, url, _tokens = served
    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
    page.goto(f"{url}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    assert outside == [] and page.locator(".opblock").count() > 5
    shoot(page, "api-docs")
    page.close()


def test_cluster_page_applies_and_undoes_a_whole_group(
    browser: Any, served: tuple[Store, str, dict[str, str]]
) -> None:
    db, url, tokens = served
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.goto(f"{url}/login")
    login_at(page, url, "chen")
    page.goto(f"{url}/clusters")
    page.wait_for_selector(".cluster .bulk button")
    first = page.request.get(
        f"{url}/api/clusters?size=1", headers={"Authorization": f"Bearer {tokens['chen']}"}
    )
    cluster = first.json()["items"][0]
    anchor = next(m["indicator_id"] for m in cluster["members"] if m["indicator_id"])
    expected = page.request.get(
        f"{url}/api/bulk/preview?indicator_id={anchor}&scope=cluster&cluster_id={cluster['id']}"
    ).json()["count"]
    before = len(decisions_by(db, "chen"))
    section = page.locator(".cluster").first
    section.locator(".bulk button").first.click()
    page.wait_for_selector(".cluster .bulk-preview:not([hidden])")
    assert f"本组 {expected} 条未决指标" in section.locator(".bulk-preview").inner_text()
    section.locator(".bulk-preview button.primary").click()
    page.wait_for_selector("#toast.ok")
    assert len(decisions_by(db, "chen")) - before == expected
    shoot(page, "clusters-bulk")
    section.locator("text=撤销这一批").click()
    page.wait_for_function("() => document.getElementById('toast').textContent.includes('已撤销整批')")
    assert len(decisions_by(db, "chen")) - before == 2 * expected
    page.close()


def test_hostile_names_fire_no_dialog_on_any_page(
    browser: Any, served: tuple[Store, str, dict[str, str]]
) -> None:
    from storekit import make_document

    db, url, tokens = served
    payloads = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", '"><svg onload=alert(3)>')
    evil = make_document("099_evil", payloads[0], [payloads[1]],
                         table=[(payloads[2], "产出指标", "质量指标", "12", payloads[1])])  # fmt: skip
    from nlp.corpus import ensure_model

    load_documents(db, [evil], bundle=ensure_model())
    found = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.on("dialog", lambda dialog: (found.append(dialog.message), dialog.dismiss()))
    page.goto(f"{url}/login")
    login_at(page, url, "chen")
    item = page.request.get(f"{url}/api/indicators?department={payloads[0]}").json()["items"][0]
    for path in (
        "/",
        f"/indicators/{item['id']}",
        f"/projects/{item['project_id']}",
        "/clusters",
        "/mine",
        "/agreement",
    ):
        page.goto(f"{url}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{url}/")
    page.fill("#search", payloads[2][:12])
    page.wait_for_timeout(600)
    assert found == []
    assert page.locator("img[src=x]").count() == 0 and page.locator("svg[onload]").count() == 0
    page.close()
