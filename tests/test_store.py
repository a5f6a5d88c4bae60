"""The review store: schema, loading and re-loading, append-only decisions, feedback for training."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from storekit import FAKE_BUNDLE, FAKE_SERVICES, INDICATOR_TABLE, make_document, sample_documents, store_url

from nlp import auth
from nlp.annotate import load_documents
from nlp.auth import AuthError, add_reviewer, authenticate, reviewer_for_token
from nlp.export import agreement, decision_agreement, export_rows
from nlp.records import Document
from nlp.review import ReviewError, counts, queue, record_decision, search_indicators
from nlp.schema import decisions, indicators, metadata, reviewers
from nlp.store import Store, StoreError, open_store, reviewed_labels


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's production cost takes ~0.3 s a hash on this machine; the tests only need the behaviour."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store = open_store(store_url(request.param, tmp_path))
    yield store
    store.close()


@pytest.fixture
def loaded(db: Store) -> Store:
    load_documents(db, sample_documents(), bundle=FAKE_BUNDLE, services=FAKE_SERVICES)
    return db


@pytest.fixture
def reviewer_id(db: Store) -> int:
    reviewer, _token = add_reviewer(db, "li", "correct horse battery")
    return reviewer.id


def _count(db: Store, table) -> int:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _id_of(db: Store, name: str, *, project: str = "社保工作经费") -> int:
    found = search_indicators(db, q=name, size=100)["items"]
    return next(item["id"] for item in found if item["project"] == project)


# --------------------------------------------------------------------------------------------- schema


def test_migrated_schema_matches_the_table_definitions(db: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_opening_a_store_twice_keeps_its_data(db: Store, reviewer_id: int) -> None:
    again = open_store(db.url)
    try:
        assert _count(again, reviewers) == 1
    finally:
        again.close()


def test_open_store_reports_an_unreachable_server_with_the_url_and_no_password() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere")
    assert caught.value.code == "E060"
    assert "s3cret" not in str(caught.value)
    assert "127.0.0.1:1/nowhere" in str(caught.value)


# ------------------------------------------------------------------------------------------------ load


def test_load_stores_every_indicator_with_its_prediction_and_flags(db: Store) -> None:
    report = load_documents(db, sample_documents(), bundle=FAKE_BUNDLE, services=FAKE_SERVICES)
    expected = sum(len(d.indicators) for d in sample_documents())
    assert (report.indicators, report.added, report.updated) == (expected, expected, 0)
    assert report.flagged == counts(db)["flagged"] == 9
    assert report.model_version == "fake-1"
    assert report.clusters == 5  # each indicator name recurs in all three projects
    assert _count(db, indicators) == expected


def test_reloading_the_same_documents_updates_in_place_and_keeps_decisions(
    loaded: Store, reviewer_id: int
) -> None:
    target = _id_of(loaded, "服务对象满意度")
    record_decision(loaded, reviewer_id=reviewer_id, indicator_id=target, action="accept")
    before = _count(loaded, indicators)

    report = load_documents(loaded, sample_documents(), bundle=FAKE_BUNDLE, services=FAKE_SERVICES)

    assert (report.added, report.updated, report.retired) == (0, before, 0)
    assert report.decisions_kept == 1
    assert _count(loaded, indicators) == before
    assert _id_of(loaded, "服务对象满意度") == target
    assert reviewed_labels(loaded) == [("服务对象满意度", "", "≥90%", "31")]


def test_reloading_a_changed_document_retires_what_it_no_longer_has(loaded: Store, reviewer_id: int) -> None:
    dropped = _id_of(loaded, "培训场次")
    record_decision(loaded, reviewer_id=reviewer_id, indicator_id=dropped, action="keep")
    shorter = [row for row in INDICATOR_TABLE if row[0] != "培训场次"]
    changed = make_document("001_a", "社保局", ["社保工作经费", "就业补贴项目"], table=shorter)

    report = load_documents(loaded, [changed], bundle=FAKE_BUNDLE, services=FAKE_SERVICES)

    assert report.retired == 2
    assert all(
        item["name"] != "培训场次" or item["doc"] != "001_a"
        for item in search_indicators(loaded, size=100)["items"]
    )
    assert [row["indicator"] for row in export_rows(loaded)] == ["培训场次"]  # the decision survives


def test_repeated_indicators_in_one_project_get_distinct_keys(db: Store) -> None:
    table = INDICATOR_TABLE
    twice = make_document("003_c", "财政局", ["重复项目"], table=(table[0], table[0]))
    load_documents(db, [twice], bundle=FAKE_BUNDLE, services=FAKE_SERVICES)
    load_documents(db, [twice], bundle=FAKE_BUNDLE, services=FAKE_SERVICES)
    assert _count(db, indicators) == 2


def test_load_accepts_precomputed_predictions_and_verdicts(db: Store) -> None:
    docs = sample_documents()
    items = [i for d in docs for i in d.indicators]
    annotated = FAKE_SERVICES.annotate(FAKE_BUNDLE, items)
    preds = annotated.predictions
    verdicts = [replace(v, flagged=False) for v in annotated.verdicts]
    report = load_documents(
        db, docs, bundle=FAKE_BUNDLE, services=FAKE_SERVICES, predictions=preds, verdicts=verdicts
    )
    assert report.flagged == counts(db)["flagged"] == 0


def test_an_empty_document_is_loaded_without_indicators(db: Store) -> None:
    report = load_documents(db, [Document(path="/x/empty.txt", layout="none")], bundle=FAKE_BUNDLE,
                            services=FAKE_SERVICES)  # fmt: skip
    assert (report.documents, report.indicators) == (1, 0)


# ------------------------------------------------------------------------------------------- decisions


def test_decisions_are_append_only_in_the_database_itself(loaded: Store, reviewer_id: int) -> None:
    record_decision(
        loaded, reviewer_id=reviewer_id, indicator_id=_id_of(loaded, "资金到位率"), action="process"
    )
    for statement in ("UPDATE decisions SET code_after = '11'", "DELETE FROM decisions"):
        with pytest.raises(DBAPIError, match="append-only"), loaded.write() as conn:
            conn.execute(text(statement))
    assert _count(loaded, decisions) == 1


@pytest.mark.parametrize(
    ("name", "action", "code", "label"),
    [
        ("服务对象满意度", "accept", "", "31"),
        ("资金到位率", "accept", "", "PR"),
        ("补助发放及时率", "keep", "", "21"),
        ("补助发放及时率", "choose", "22", "22"),
        ("资金到位率", "process", "", "PR"),
    ],
    ids=["accept-leaf", "accept-process", "keep-declared", "choose-other", "process-item"],
)
def test_reviewed_labels_follow_the_decision_in_force(
    loaded: Store, reviewer_id: int, name: str, action: str, code: str, label: str
) -> None:
    record_decision(
        loaded, reviewer_id=reviewer_id, indicator_id=_id_of(loaded, name), action=action, code=code
    )
    assert [(n, c) for n, _d, _v, c in reviewed_labels(loaded)] == [(name, label)]


def test_skipped_and_undone_decisions_give_no_label(loaded: Store, reviewer_id: int) -> None:
    first, second = _id_of(loaded, "服务对象满意度"), _id_of(loaded, "资金到位率")
    record_decision(loaded, reviewer_id=reviewer_id, indicator_id=first, action="skip")
    record_decision(loaded, reviewer_id=reviewer_id, indicator_id=second, action="accept")
    undo = record_decision(loaded, reviewer_id=reviewer_id, indicator_id=second, action="undo")
    assert reviewed_labels(loaded) == []
    assert (undo["code_before"], undo["code_after"]) == ("PR", "12")  # back to the declared code


def test_the_latest_decision_is_current_and_both_are_kept(loaded: Store, reviewer_id: int) -> None:
    other, _ = add_reviewer(loaded, "wang", "another long secret")
    target = _id_of(loaded, "补助发放及时率")
    record_decision(loaded, reviewer_id=reviewer_id, indicator_id=target, action="accept")
    later = record_decision(loaded, reviewer_id=other.id, indicator_id=target, action="choose", code="12")
    assert later["code_before"] == "13"
    assert [c for *_rest, c in reviewed_labels(loaded)] == ["12"]
    assert _count(loaded, decisions) == 2
    assert counts(loaded)["disputed"] == 1


def test_undo_needs_a_decision_of_ones_own(loaded: Store, reviewer_id: int) -> None:
    with pytest.raises(ReviewError) as caught:
        record_decision(
            loaded, reviewer_id=reviewer_id, indicator_id=_id_of(loaded, "资金到位率"), action="undo"
        )
    assert caught.value.code == "E075"


def test_queue_is_ordered_by_score_and_puts_skipped_flags_last(loaded: Store, reviewer_id: int) -> None:
    items = queue(loaded, size=100)["items"]
    scores = [item["flag"]["score"] for item in items]
    assert scores == sorted(scores, reverse=True) and len(items) == 9
    record_decision(loaded, reviewer_id=reviewer_id, indicator_id=items[0]["id"], action="skip")
    record_decision(loaded, reviewer_id=reviewer_id, indicator_id=items[1]["id"], action="accept")
    after = queue(loaded, size=100)
    assert [i["id"] for i in after["items"]][-1] == items[0]["id"]
    assert items[1]["id"] not in [i["id"] for i in after["items"]]
    assert after["counts"] == {"flagged": 9, "left": 7, "skipped": 1, "decided": 1, "disputed": 0}


def test_queue_filters_by_department(loaded: Store) -> None:
    result = queue(loaded, department="医保中心", size=100)
    assert {item["department"] for item in result["items"]} == {"医保中心"}
    assert result["counts"]["left"] == len(result["items"]) == 3


def test_search_escapes_like_wildcards(loaded: Store) -> None:
    assert search_indicators(loaded, q="%")["total"] == 0
    assert search_indicators(loaded, q="满意")["total"] == 3


# ------------------------------------------------------------------------------------------- reviewers


def test_reviewer_passwords_and_tokens_are_stored_hashed(db: Store) -> None:
    reviewer, token = add_reviewer(db, "zhao", "a very long secret", admin=True)
    with db.read() as conn:
        row = conn.execute(select(reviewers)).one()
    assert row.password_hash.startswith("$argon2id$") and "a very long secret" not in row.password_hash
    assert token not in row.token_hash
    assert reviewer_for_token(db, token) == reviewer
    assert authenticate(db, "zhao", "a very long secret") == reviewer


@pytest.mark.parametrize(
    ("name", "password", "code"),
    [
        ("zhao", "a very long secret", "E069"),
        ("new", "", "E074"),
        ("new", "short", "E061"),
        ("bad name", "long enough!", "E061"),
    ],
    ids=["duplicate", "empty-password", "short-password", "bad-name"],
)
def test_add_reviewer_refuses_bad_accounts(db: Store, name: str, password: str, code: str) -> None:
    add_reviewer(db, "zhao", "a very long secret")
    with pytest.raises(AuthError) as caught:
        add_reviewer(db, name, password)
    assert caught.value.code == code
    assert _count(db, reviewers) == 1


@pytest.mark.parametrize(("name", "password"), [("zhao", "wrong password"), ("nobody", "a very long secret")],
                         ids=["wrong-password", "unknown-name"])  # fmt: skip
def test_authenticate_refuses_wrong_credentials_alike(db: Store, name: str, password: str) -> None:
    add_reviewer(db, "zhao", "a very long secret")
    with pytest.raises(AuthError) as caught:
        authenticate(db, name, password)
    assert caught.value.code == "E070"


# --------------------------------------------------------------------------------------------- feedback


def test_decision_agreement_compares_reviewers_with_the_model(loaded: Store, reviewer_id: int) -> None:
    other, _ = add_reviewer(loaded, "wang", "another long secret")
    agreed, overruled = _id_of(loaded, "服务对象满意度"), _id_of(loaded, "补助发放及时率")
    record_decision(loaded, reviewer_id=reviewer_id, indicator_id=agreed, action="accept")
    record_decision(loaded, reviewer_id=reviewer_id, indicator_id=overruled, action="choose", code="22")
    record_decision(loaded, reviewer_id=other.id, indicator_id=overruled, action="choose", code="22")

    result = agreement(loaded, FAKE_BUNDLE, services=FAKE_SERVICES)

    assert (result.labelled, result.model_agreed, result.shown_agreed) == (2, 1, 1)
    assert (result.reviewer_pairs, result.reviewer_agreed) == (1, 1)
    assert result.examples == (("补助发放及时率", "22", "13"),)
    as_data = decision_agreement(loaded.url, FAKE_BUNDLE, services=FAKE_SERVICES)
    assert as_data["model_rate"] == 0.5 and as_data["by_code"]["31"] == {"n": 1, "model_agreed": 1}


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_user_add_reads_the_password_from_stdin_and_prints_the_token_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nlp.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["user", "add", "zhou", "--admin", "--password-stdin", "--db", url]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    db = open_store(url)
    try:
        assert reviewer_for_token(db, token) == authenticate(db, "zhou", "a long enough secret")
        assert reviewer_for_token(db, token).is_admin  # type: ignore[union-attr]
    finally:
        db.close()
    monkeypatch.setattr("sys.stdin", io.StringIO("another secret!\n"))
    assert main(["user", "add", "zhou", "--password-stdin", "--db", url]) == 1
    assert "[E069]" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_load_runs_the_real_pipeline_and_a_reload_keeps_decisions(
    tmp_path: Path, seed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from nlp.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert main(["load", str(seed_paths["000"]), "--db", url]) == 0
    first = capsys.readouterr().out
    db = open_store(url)
    try:
        reviewer, _ = add_reviewer(db, "li", "correct horse battery")
        item = queue(db)["items"][0]
        record_decision(db, reviewer_id=reviewer.id, indicator_id=item["id"], action="accept")
        assert main(["load", str(seed_paths["000"]), "--db", url]) == 0
        second = capsys.readouterr().out
        n = int(re.search(r"(\d+) indicators", first).group(1))  # type: ignore[union-attr]
        assert f"{n} new" in first and f"0 new, {n} updated" in second and "1 decisions kept" in second
        assert queue(db)["counts"]["decided"] == 1
    finally:
        db.close()


def test_sqlite_stores_use_wal_and_wait_for_locks(tmp_path: Path) -> None:
    db = open_store(store_url("sqlite", tmp_path))
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    finally:
        db.close()
