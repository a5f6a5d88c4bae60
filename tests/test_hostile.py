"""Hostile input: files and requests written to run code or exhaust memory are refused before they can.

Each attack is tried for real: a planted pickle would create a marker file if it were ever unpickled,
and a streamed body would be read whole if the limit were only checked against Content-Length.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import joblib
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline
from sqlalchemy import func, select
from storekit import FAKE_BUNDLE, FAKE_SERVICES, sample_documents, store_url

from nlp import auth
from nlp import persist as model_module
from nlp.annotate import load_documents
from nlp.auth import add_reviewer
from nlp.cache import _file_key, _read_parse_cache, document_from_json, document_to_json, parser_version
from nlp.errors import ModelError
from nlp.model import Bundle
from nlp.parallel import parse_files
from nlp.parse import parse_file
from nlp.persist import library_versions, load_model, save_model, sign_model_file
from nlp.schema import decisions
from nlp.store import Store, open_store
from nlp.web import MAX_BODY, GuardMiddleware, create_app


class Planted:
    """Unpickling this opens (so creates) ``marker``: proof that a loader ran the file's code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


@pytest.fixture(autouse=True)
def model_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test signs with its own key, in its own folder (never the repository's models/.key)."""
    path = tmp_path / "keys" / "model.key"
    monkeypatch.setenv("ZHIBIAO_MODEL_KEY", str(path))
    return path


def tiny_bundle(**versions: str) -> Bundle:
    """A bundle that saves in milliseconds; loading checks only its versions, not its pipeline."""
    meta = {"versions": {**library_versions(), **versions}, "created": "2024-01-01T00:00:00Z"}
    return Bundle(pipe=Pipeline([("clf", DummyClassifier())]), version="tiny-1", meta=meta)


def plant(path: Path) -> Path:
    """Write a pickle at ``path`` that creates ``path.marker`` when loaded; returns the marker."""
    marker = path.with_name(path.name + ".marker")
    joblib.dump(Planted(marker), path)
    return marker


# ------------------------------------------------------------------------------------- model files


def test_the_planted_pickle_really_runs_code_when_unpickled(tmp_path: Path) -> None:
    # The control for the tests below: without the signature check this file would execute.
    marker = plant(tmp_path / "evil.joblib")
    joblib.load(tmp_path / "evil.joblib")
    assert marker.exists()


def test_a_saved_model_is_signed_and_loads_back(tmp_path: Path, model_key_file: Path) -> None:
    path = save_model(tiny_bundle(), tmp_path / "zhibiao.joblib")
    manifest = json.loads((tmp_path / "zhibiao.joblib.sig").read_text(encoding="utf-8"))
    assert manifest["algorithm"] == "HMAC-SHA256" and manifest["bytes"] == path.stat().st_size
    assert len(manifest["hmac"]) == 64
    assert load_model(path, warm_up=False).version == "tiny-1"
    assert stat.S_IMODE(model_key_file.stat().st_mode) == 0o600


def test_the_key_is_made_once_and_then_reused(tmp_path: Path, model_key_file: Path) -> None:
    assert not model_key_file.exists()
    first = model_module.model_key()
    assert model_key_file.exists() and model_module.model_key() == first and len(first) == 32
    assert not [p for p in model_key_file.parent.iterdir() if p.name.endswith(".tmp")]


def _forged_signature(path: Path) -> None:
    (path.parent / (path.name + ".sig")).write_text(
        json.dumps({"kind": "zhibiao-model-signature", "algorithm": "HMAC-SHA256", "hmac": "0" * 64}),
        encoding="utf-8",
    )


def _signature_of_another_model(path: Path) -> None:
    genuine = save_model(tiny_bundle(), path.parent / "genuine.joblib")
    (path.parent / (path.name + ".sig")).write_bytes((genuine.parent / "genuine.joblib.sig").read_bytes())


def _signed_with_another_key(path: Path) -> None:
    mac = hmac.new(b"attacker key, not this installation's", path.read_bytes(), hashlib.sha256)
    (path.parent / (path.name + ".sig")).write_text(
        json.dumps({"kind": "zhibiao-model-signature", "algorithm": "HMAC-SHA256", "hmac": mac.hexdigest()}),
        encoding="utf-8",
    )


def _garbage_signature(path: Path) -> None:
    (path.parent / (path.name + ".sig")).write_bytes(b"\xff" * 10_000)


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (None, "it has no signature file"),
        (_forged_signature, "its signature does not match its content"),
        (_signature_of_another_model, "its signature does not match its content"),
        (_signed_with_another_key, "its signature does not match its content"),
        (_garbage_signature, "its signature file is not a zhibiao signature"),
    ],
    ids=["unsigned", "forged-hmac", "copied-signature", "other-key", "garbage-signature"],
)
def test_a_crafted_model_file_is_refused_before_it_is_unpickled(
    forge: Any, reason: str, tmp_path: Path, model_key_file: Path
) -> None:
    path = tmp_path / "zhibiao.joblib"
    marker = plant(path)
    if forge is not None:
        forge(path)
    with pytest.raises(ModelError) as caught:
        load_model(path, warm_up=False)
    assert caught.value.code == "E013"
    assert str(caught.value) == (
        f"[E013] {path}: refused to load the model: {reason}. zhibiao loads only model files it wrote "
        f"and signed (zhibiao.joblib.sig, under the key in {model_key_file}), because loading any other "
        "file could run its code. Retrain with `zhibiao train`; for a model trained on another machine, "
        "copy that machine's key file too (or point $ZHIBIAO_MODEL_KEY at it)."
    )
    assert not marker.exists()


def test_a_signed_model_changed_afterwards_is_refused(tmp_path: Path) -> None:
    path = save_model(tiny_bundle(), tmp_path / "zhibiao.joblib")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"E013.*does not match its content"):
        load_model(path, warm_up=False)


def test_a_signed_model_from_other_library_versions_is_still_refused_with_E011(tmp_path: Path) -> None:
    path = save_model(tiny_bundle(**{"scikit-learn": "0.0.1"}), tmp_path / "old.joblib")
    with pytest.raises(ModelError, match=r"E011.*scikit-learn 0\.0\.1.*zhibiao train"):
        load_model(path, warm_up=False)


def test_a_signed_file_that_is_not_a_bundle_is_refused_with_E012(tmp_path: Path) -> None:
    path = tmp_path / "junk.joblib"
    joblib.dump({"hello": 1}, path)
    sign_model_file(path)
    with pytest.raises(ModelError, match="E012"):
        load_model(path, warm_up=False)


# -------------------------------------------------------------------------------------- parse cache


def test_cached_documents_come_back_equal_from_json(seed_paths: dict[str, Path]) -> None:
    for path in seed_paths.values():
        document = parse_file(path)
        assert document.indicators
        assert document_from_json(document_to_json(document, version="v")) == document


def test_the_parse_cache_is_written_as_json_never_as_pickle(
    seed_paths: dict[str, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    parse_files([seed_paths["000"]], cache=cache)
    entries = list(cache.iterdir())
    assert [p.suffix for p in entries] == [".json"]
    entry = json.loads(entries[0].read_text(encoding="utf-8"))
    assert entry["kind"] == "zhibiao-parse" and entry["document"]["path"] == str(seed_paths["000"])
    documents, cached = parse_files([seed_paths["000"]], cache=cache)
    assert cached == [True] and documents == [parse_file(seed_paths["000"])]


@pytest.mark.parametrize("suffix", [".pkl", ".json"], ids=["pickle-name", "json-name"])
def test_a_pickle_planted_in_the_parse_cache_is_never_loaded(
    suffix: str, seed_paths: dict[str, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    key = _file_key(seed_paths["000"], parser_version())
    assert key is not None
    marker = plant(cache / f"{key}{suffix}")
    documents, cached = parse_files([seed_paths["000"]], cache=cache)
    assert cached == [False] and documents == [parse_file(seed_paths["000"])]
    assert not marker.exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda e: e["document"].update(layout=["not", "text"]),
        lambda e: e["document"]["projects"][0].update(budget="1e9"),
        lambda e: e["document"]["projects"][0]["indicators"][0].update(line=True),
        lambda e: e["document"]["projects"][0]["indicators"][0].update(extra="x"),
        lambda e: e["document"].update(projects={"not": "a list"}),
        lambda e: e.update(kind="something-else"),
    ],
    ids=["layout-list", "budget-string", "line-bool", "extra-field", "projects-dict", "wrong-kind"],
)
def test_a_tampered_cache_entry_is_parsed_again(
    damage: Any, seed_paths: dict[str, Path], tmp_path: Path
) -> None:
    entry = json.loads(document_to_json(parse_file(seed_paths["000"])))
    damage(entry)
    path = tmp_path / "entry.json"
    path.write_text(json.dumps(entry), encoding="utf-8")
    assert _read_parse_cache(path) is None


# ------------------------------------------------------------------------------------------ web body


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    store = open_store(store_url("sqlite", tmp_path))
    load_documents(store, sample_documents(), bundle=FAKE_BUNDLE, services=FAKE_SERVICES)
    yield store
    store.close()


@pytest.fixture
def client(db: Store) -> TestClient:
    return TestClient(create_app(db, bundle=FAKE_BUNDLE, services=FAKE_SERVICES, secret="test-secret"))


def _decision_count(db: Store) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(decisions)).scalar_one())


def test_a_chunked_body_over_the_limit_is_refused_with_413(client: TestClient, db: Store) -> None:
    token = add_reviewer(db, "li", "reviewer password 1")[1]

    def chunks() -> Iterator[bytes]:
        yield b'{"indicator_id": 1, "action": "accept", "comment": "'
        for _ in range(MAX_BODY // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    sent: dict[str, Any] = {}
    client.event_hooks["request"] = [lambda request: sent.update(headers=dict(request.headers))]
    response = client.post("/api/decisions", content=chunks(),
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
    assert "content-length" not in sent["headers"] and sent["headers"]["transfer-encoding"] == "chunked"
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "E076" and error["field"] is None
    assert error["message"].startswith("The request body is too large (")
    assert error["message"].endswith(f" bytes, at most {MAX_BODY}). Send less.")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert _decision_count(db) == 0


def _call(
    app: Any, chunks: list[bytes], *, headers: Sequence[tuple[bytes, bytes]] = ()
) -> tuple[list[dict[str, Any]], int]:
    """Send ``chunks`` as one streamed request through ``app``; returns what it sent and the chunks it took."""
    scope = {"type": "http", "method": "POST", "path": "/", "headers": list(headers), "query_string": b""}
    taken = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal taken
        if taken >= len(chunks):
            return {"type": "http.disconnect"}
        taken += 1
        return {"type": "http.request", "body": chunks[taken - 1], "more_body": taken < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent, taken


async def _read_all_then_answer(scope: Any, receive: Any, send: Any) -> None:
    """An app that reads its whole body (as a JSON route would), then answers 200 with its length."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


def test_a_streamed_body_stops_being_read_once_past_the_limit() -> None:
    chunk = b"x" * 4096
    sent, taken = _call(GuardMiddleware(_read_all_then_answer), [chunk] * 1000)  # 4 MB offered
    assert taken == MAX_BODY // len(chunk) + 1  # the chunk that crossed the limit was the last read
    assert sent[0]["status"] == 413 and (b"x-frame-options", b"DENY") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"]["code"] == "E076"
    assert len(sent) == 2  # the app's own answer never went out


def test_a_body_longer_than_its_content_length_is_refused() -> None:
    chunks = [b"x" * 10_000] * 10
    sent, _ = _call(GuardMiddleware(_read_all_then_answer), chunks, headers=[(b"content-length", b"10")])
    assert sent[0]["status"] == 413


def test_a_streamed_body_within_the_limit_reaches_the_app() -> None:
    chunks = [b"x" * 1024] * (MAX_BODY // 1024)
    sent, taken = _call(GuardMiddleware(_read_all_then_answer), chunks)
    assert sent[0]["status"] == 200 and sent[1]["body"] == str(MAX_BODY).encode() and taken == len(chunks)
