"""A reviewer's day beyond single decisions: the Excel round trip, bulk decisions with preview and
undo, the project page, queue filters, "my decisions", and blind double review with κ."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from storekit import FAKE_BUNDLE, FAKE_SERVICES, sample_store

from nlp import auth
from nlp.auth import add_reviewer
from nlp.schema import bulk_actions, bulk_decisions, decisions
from nlp.store import Store
from nlp.web import create_app

PASSWORD = "reviewer password 1"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    store = sample_store(f"sqlite:///{tmp_path / 'zhibiao.sqlite'}")
    yield store
    store.close()


@pytest.fixture
def tokens(db: Store) -> dict[str, str]:
    return {
        "admin": add_reviewer(db, "admin", "admin password 1", admin=True)[1],
        "li": add_reviewer(db, "li", PASSWORD)[1],
        "wang": add_reviewer(db, "wang", PASSWORD)[1],
    }


@pytest.fixture
def client(db: Store) -> TestClient:
    return TestClient(create_app(db, bundle=FAKE_BUNDLE, services=FAKE_SERVICES, secret="s"))


def as_(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def n_decisions(db: Store) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(decisions)).scalar_one())


# --------------------------------------------------------------------------------- Excel round trip


def test_reviewer_workbook_speaks_chinese_with_percentages_wrapping_and_a_conclusion_column(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.get("/api/export/reviewer", headers=as_(tokens["li"]))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["审核表"]
    header = [c.value for c in sheet[1]]
    fields = [c.value for c in sheet[2]]
    for chinese in (
        "部门",
        "项目绩效目标",
        "指标解释",
        "实施期目标值",
        "年度目标值",
        "建议类别",
        "建议概率",
        "审核结论",
        "备注",
    ):
        assert chinese in header
    assert not any(re.fullmatch(r"[a-z_]+", h) for h in header)  # field names live in row 2 only
    assert fields[header.index("审核结论")] == "conclusion"
    probability = sheet.cell(row=3, column=header.index("建议概率") + 1)
    assert probability.number_format == "0%"
    goal = sheet.cell(row=3, column=header.index("项目绩效目标") + 1)
    assert goal.alignment.wrap_text
    assert sheet.max_row - 2 == 9  # every flag of the sample store
    assert "填写说明" in book.sheetnames
    assert sheet.data_validations.dataValidation[0].formula1.count("接受建议") == 1


def test_excel_round_trip_five_conclusions_become_five_decisions(
    db: Store, client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    from nlp.cli import main

    exported = tmp_path / "review.xlsx"
    assert main(["export", "--reviewer", str(exported), "--db", db.url]) == 0
    book = load_workbook(exported)
    sheet = book["审核表"]
    fields = [c.value for c in sheet[2]]
    col = {name: fields.index(name) + 1 for name in ("indicator_id", "conclusion", "note")}
    filled = ["接受建议", "保留申报类别", "过程指标", "质量指标", "22"]
    ids = []
    for row, conclusion in zip(range(3, 8), filled, strict=True):
        sheet.cell(row=row, column=col["conclusion"], value=conclusion)
        sheet.cell(row=row, column=col["note"], value=f"第{row}行")
        ids.append(int(sheet.cell(row=row, column=col["indicator_id"]).value))
    book.save(exported)

    before = n_decisions(db)
    assert main(["import-decisions", str(exported), "--reviewer", "li", "--db", db.url]) == 0
    assert n_decisions(db) - before == 5
    with db.read() as conn:
        rows = conn.execute(select(decisions).where(decisions.c.id > before).order_by(decisions.c.id)).all()
    assert [r.indicator_id for r in rows] == ids
    assert [r.action for r in rows] == ["accept", "keep", "process", "choose", "choose"]
    assert [r.code_after for r in rows][3:] == ["12", "22"] and rows[0].comment == "第3行"
    # The same file again records nothing twice.
    assert main(["import-decisions", str(exported), "--reviewer", "li", "--db", db.url]) == 0
    assert n_decisions(db) - before == 5


def test_import_reports_bad_rows_by_number_and_records_the_rest(
    db: Store, tokens: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nlp.workbook import import_decisions, reviewer_workbook

    path = tmp_path / "review.xlsx"
    path.write_bytes(reviewer_workbook(db))
    book = load_workbook(path)
    sheet = book["审核表"]
    fields = [c.value for c in sheet[2]]
    conclusion, indicator = fields.index("conclusion") + 1, fields.index("indicator_id") + 1
    sheet.cell(row=3, column=conclusion, value="大概对吧")
    sheet.cell(row=4, column=conclusion, value="接受建议")
    sheet.cell(row=5, column=conclusion, value="接受建议")
    sheet.cell(row=5, column=indicator, value=99999)
    book.save(path)
    report = import_decisions(db, path, reviewer_id=2)
    assert report.decided == 1 and report.empty == 6
    assert [row for row, _message in report.problems] == [3, 5]
    assert "row 3" in report.problems[0][1] and "审核结论" in report.problems[0][1]


def test_import_refuses_a_file_that_is_not_a_reviewer_workbook(db: Store, tmp_path: Path) -> None:
    from nlp.errors import ZhibiaoError
    from nlp.workbook import import_decisions

    path = tmp_path / "other.xlsx"
    from openpyxl import Workbook

    Workbook().save(path)
    with pytest.raises(ZhibiaoError) as caught:
        import_decisions(db, path, reviewer_id=1)
    assert caught.value.code == "E094" and "other.xlsx" in str(caught.value)


# -------------------------------------------------------------------------------------------- bulk


def test_bulk_accept_of_identical_items_previews_records_each_and_undoes_as_one(
    db: Store, client: TestClient, tokens: dict[str, str]
) -> None:
    queue = client.get("/api/queue", params={"size": 100}, headers=as_(tokens["li"])).json()["items"]
    anchor = next(item for item in queue if item["name"] == "资金到位率")
    preview = client.get(
        "/api/bulk/preview",
        params={"indicator_id": anchor["id"], "scope": "identical"},
        headers=as_(tokens["li"]),
    ).json()
    assert preview["count"] == 3 and preview["departments"] == ["医保中心", "社保局"]
    assert preview["code"] == "PR" and preview["code_name"] == "过程指标（非绩效）"

    stale = client.post("/api/bulk", json={"indicator_id": anchor["id"], "scope": "identical", "expected": 2},
                        headers=as_(tokens["li"]))  # fmt: skip
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "E091"
    before = n_decisions(db)
    done = client.post("/api/bulk", json={"indicator_id": anchor["id"], "scope": "identical", "expected": 3},
                       headers=as_(tokens["li"])).json()  # fmt: skip
    assert done["count"] == 3 and n_decisions(db) - before == 3
    with db.read() as conn:
        linked = conn.execute(
            select(bulk_decisions.c.decision_id).where(bulk_decisions.c.bulk_id == done["bulk_id"])
        )
        assert sorted(linked.scalars()) == sorted(done["decision_ids"])
    left = client.get("/api/counts", headers=as_(tokens["li"])).json()["left"]
    assert left == 9 - 3

    undo = client.post(f"/api/bulk/{done['bulk_id']}/undo", headers=as_(tokens["li"])).json()
    assert undo == {"bulk_id": undo["bulk_id"], "undone": 3, "kept": 0}
    assert client.get("/api/counts", headers=as_(tokens["li"])).json()["left"] == 9
    assert n_decisions(db) - before == 6  # append-only: three decisions and three undos
    again = client.post(f"/api/bulk/{done['bulk_id']}/undo", headers=as_(tokens["li"]))
    assert again.status_code == 409 and again.json()["error"]["code"] == "E092"
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(bulk_actions)).scalar_one() == 2


def test_bulk_never_overrides_a_decision_already_made(client: TestClient, tokens: dict[str, str]) -> None:
    queue = client.get("/api/queue", params={"size": 100}, headers=as_(tokens["li"])).json()["items"]
    same = [item for item in queue if item["name"] == "资金到位率"]
    client.post(
        "/api/decisions", json={"indicator_id": same[0]["id"], "action": "keep"}, headers=as_(tokens["wang"])
    )
    preview = client.get("/api/bulk/preview", params={"indicator_id": same[1]["id"], "scope": "cluster"},
                         headers=as_(tokens["li"])).json()  # fmt: skip
    assert preview["count"] == 2 and preview["already_decided"] == 1


# ---------------------------------------------------------------------------- project and filters


def test_project_page_shows_goal_and_the_whole_indicator_set_in_its_layout(
    client: TestClient, tokens: dict[str, str]
) -> None:
    item = client.get("/api/queue", headers=as_(tokens["li"])).json()["items"][0]
    project = client.get(f"/api/projects/{item['project_id']}", headers=as_(tokens["li"])).json()
    assert project["goal"].startswith("通过") and project["indicators"] == 5
    assert [block["l1"] for block in project["layout"]] == ["产出指标", "效益指标"]
    assert [g["l2"] for g in project["layout"][0]["groups"]] == ["数量指标", "质量指标"]
    assert sum(len(g["rows"]) for block in project["layout"] for g in block["groups"]) == 5


@pytest.mark.parametrize(
    ("params", "expected"),
    [({"reason": "process_item"}, 3), ({"reason": "category_mismatch"}, 6), ({"declared": "23"}, 3),
     ({"score_min": "0.9"}, 6), ({"score_min": "0.5", "score_max": "0.9"}, 3), ({"tier": "review"}, 0),
     ({"department": "医保中心", "reason": "process_item"}, 1)],
    ids=["reason", "other-reason", "declared", "score-high", "score-band", "tier-review", "department+reason"],
)  # fmt: skip
def test_queue_filters(
    client: TestClient, tokens: dict[str, str], params: dict[str, str], expected: int
) -> None:
    body = client.get("/api/queue", params={**params, "size": 100}, headers=as_(tokens["li"])).json()
    assert body["total"] == len(body["items"]) == expected == body["counts"]["left"]


def test_queue_sorts_by_department(client: TestClient, tokens: dict[str, str]) -> None:
    items = client.get(
        "/api/queue", params={"sort": "department", "size": 100}, headers=as_(tokens["li"])
    ).json()
    departments = [item["department"] for item in items["items"]]
    assert departments == sorted(departments)


def test_my_decisions_lists_only_mine_newest_first(client: TestClient, tokens: dict[str, str]) -> None:
    queue = client.get("/api/queue", headers=as_(tokens["li"])).json()["items"]
    for item, who in zip(queue[:3], ("li", "wang", "li"), strict=True):
        client.post(
            "/api/decisions", json={"indicator_id": item["id"], "action": "keep"}, headers=as_(tokens[who])
        )
    mine = client.get("/api/my-decisions", headers=as_(tokens["li"])).json()
    assert [d["indicator_id"] for d in mine["items"]] == [queue[2]["id"], queue[0]["id"]]
    assert mine["items"][0]["action_name"] == "保留申报类别" and mine["items"][0]["time_local"]


# ---------------------------------------------------------------------------------- double review


def test_double_review_is_blind_until_both_decide_and_kappa_is_measured(
    client: TestClient, tokens: dict[str, str]
) -> None:
    done = client.post("/api/assignments", json={"reviewers": ["li", "wang"], "limit": 4},
                       headers=as_(tokens["admin"])).json()  # fmt: skip
    assert done == {"assigned": 8, "already": 0}
    li_queue = client.get("/api/queue", params={"mine": "true"}, headers=as_(tokens["li"])).json()
    assert li_queue["assignment"] == {"assigned": 4, "decided": 0, "left": 4}
    ids = [item["id"] for item in li_queue["items"]]
    codes = {"li": ["11", "12", "13", "22"], "wang": ["11", "12", "13", "31"]}
    for position, indicator_id in enumerate(ids):
        body = {"indicator_id": indicator_id, "action": "choose", "code": codes["li"][position]}
        client.post("/api/decisions", json=body, headers=as_(tokens["li"]))
    # li has decided; wang still sees the same items, with none of li's decisions.
    wang_queue = client.get("/api/queue", params={"mine": "true"}, headers=as_(tokens["wang"])).json()
    assert [item["id"] for item in wang_queue["items"]] == ids
    assert all(item["decision"] is None for item in wang_queue["items"])
    detail = client.get(f"/api/indicators/{ids[0]}", headers=as_(tokens["wang"])).json()
    assert detail["blind"] and detail["history"] == []
    assert client.get(f"/api/indicators/{ids[0]}", headers=as_(tokens["admin"])).json()["history"]
    # An adjudicator's differing decision makes it disputed, but wang's list must not give li's away.
    client.post("/api/decisions", json={"indicator_id": ids[0], "action": "choose", "code": "24"},
                headers=as_(tokens["admin"]))  # fmt: skip
    disputed = {"disputed": "true", "size": 100}
    assert ids[0] in [
        i["id"]
        for i in client.get("/api/indicators", params=disputed, headers=as_(tokens["admin"])).json()["items"]
    ]
    assert ids[0] not in [
        i["id"]
        for i in client.get("/api/indicators", params=disputed, headers=as_(tokens["wang"])).json()["items"]
    ]
    client.post(
        "/api/decisions", json={"indicator_id": ids[0], "action": "undo"}, headers=as_(tokens["admin"])
    )
    for position, indicator_id in enumerate(ids):
        body = {"indicator_id": indicator_id, "action": "choose", "code": codes["wang"][position]}
        client.post("/api/decisions", json=body, headers=as_(tokens["wang"]))
    detail = client.get(f"/api/indicators/{ids[0]}", headers=as_(tokens["wang"])).json()
    assert not detail["blind"] and {"li", "wang"} <= {h["reviewer"] for h in detail["history"]}
    [pair] = client.get("/api/agreement", headers=as_(tokens["li"])).json()
    assert pair["reviewers"] == ["li", "wang"] and (pair["items"], pair["agreed"]) == (4, 3)
    from sklearn.metrics import cohen_kappa_score

    assert pair["kappa"] == round(cohen_kappa_score(codes["li"], codes["wang"]), 4)


def test_assignment_needs_known_reviewers(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.post(
        "/api/assignments", json={"reviewers": ["li", "nobody"]}, headers=as_(tokens["admin"])
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "E095"


def test_corrected_tables_give_each_department_its_final_categories(
    db: Store, client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    from nlp.cli import main

    queue = client.get("/api/queue", params={"size": 100}, headers=as_(tokens["li"])).json()["items"]
    moved = next(i for i in queue if i["name"] == "服务对象满意度" and i["department"] == "医保中心")
    process = next(i for i in queue if i["name"] == "资金到位率" and i["department"] == "医保中心")
    client.post(
        "/api/decisions", json={"indicator_id": moved["id"], "action": "accept"}, headers=as_(tokens["li"])
    )
    client.post(
        "/api/decisions", json={"indicator_id": process["id"], "action": "process"}, headers=as_(tokens["li"])
    )
    out = tmp_path / "corrected"
    assert main(["export", "--corrected", str(out), "--db", db.url]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["医保中心-绩效目标表（审核后）.xlsx", "社保局-绩效目标表（审核后）.xlsx"]
    sheet = load_workbook(out / files[0])["绩效目标表"]
    rows = {r[3]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 5 and sheet.cell(row=1, column=2).value == "一级指标"
    assert rows["服务对象满意度"][1:3] == ("满意度指标", "服务对象满意度指标")
    assert rows["服务对象满意度"][7:9] == ("效益指标", "生态效益指标") and "调整" in rows["服务对象满意度"][9]
    assert rows["资金到位率"][1] == "（建议剔除）" and "过程指标" in rows["资金到位率"][9]
    assert rows["培训场次"][1:3] == ("产出指标", "数量指标") and not rows["培训场次"][9]


def test_export_without_a_target_says_what_to_give(db: Store, capsys: pytest.CaptureFixture[str]) -> None:
    from nlp.cli import main

    assert main(["export", "--db", db.url]) == 1
    assert "--reviewer" in capsys.readouterr().err


def test_review_tier_items_are_kept_apart_from_flags(
    db: Store, client: TestClient, tokens: dict[str, str]
) -> None:
    from sqlalchemy import update

    from nlp.schema import flags

    first = client.get("/api/queue", headers=as_(tokens["li"])).json()["items"][0]
    with db.write() as conn:
        conn.execute(update(flags).where(flags.c.indicator_id == first["id"]).values(tier="review"))
    flagged = client.get("/api/queue", params={"size": 100}, headers=as_(tokens["li"])).json()
    review = client.get("/api/queue", params={"tier": "review"}, headers=as_(tokens["li"])).json()
    assert first["id"] not in [i["id"] for i in flagged["items"]] and flagged["counts"]["flagged"] == 8
    assert [i["id"] for i in review["items"]] == [first["id"]] and review["items"][0]["flag"][
        "tier"
    ] == "review"
    found = client.get(
        "/api/indicators", params={"flagged": "true", "size": 100}, headers=as_(tokens["li"])
    ).json()
    assert found["total"] == 8
