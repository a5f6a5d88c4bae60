"""nlp.annotate: one classify -> audit step for every caller, each text scored once, one suggestion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nlp import model
from nlp.annotate import annotate, load_documents
from nlp.auth import add_reviewer
from nlp.cli import main
from nlp.parse import parse_paths
from nlp.store import open_store
from nlp.web import create_app

ROOT = Path(__file__).resolve().parents[1]


def test_each_distinct_text_is_scored_once_per_annotation(seed_paths, bundle, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []
    real = model.score_rows

    def counting(b: Any, rows: Any, **kwargs: Any) -> Any:
        calls.append(len(rows))
        return real(b, rows, **kwargs)

    monkeypatch.setattr(model, "score_rows", counting)
    indicators = [i for d in parse_paths([seed_paths["002"]]) for i in d.indicators]
    annotated = annotate(indicators, bundle=bundle)
    assert len(calls) == 1 and calls[0] == len(indicators)
    assert len(annotated.predictions) == len(annotated.verdicts) == len(indicators)


def test_loading_the_store_scores_once_and_reuses_the_clusters_it_is_given(
    seed_paths, bundle, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from nlp import cluster

    scored: list[int] = []
    clustered: list[str] = []
    real_score, real_find = model.score_rows, cluster.find_clusters
    monkeypatch.setattr(
        model, "score_rows", lambda b, rows, **k: scored.append(1) or real_score(b, rows, **k)
    )
    monkeypatch.setattr(
        cluster,
        "find_clusters",
        lambda docs, *, level: clustered.append(level) or real_find(docs, level=level),
    )
    documents = parse_paths([seed_paths["002"]])
    annotated = annotate([i for d in documents for i in d.indicators], bundle=bundle)
    given = {level: real_find(documents, level=level) for level in cluster.LEVELS}
    scored.clear()
    db = open_store("sqlite://")
    report = load_documents(db, documents, bundle=bundle, predictions=annotated.predictions,
                            verdicts=annotated.verdicts, clusters=given)  # fmt: skip
    assert scored == [] and clustered == []
    assert report.clusters == sum(len(found) for found in given.values())


def test_the_store_never_imports_the_model() -> None:
    code = "import sys, nlp.store, nlp.review, nlp.export, nlp.auth; print(sorted(m for m in sys.modules if m in ('nlp.model', 'nlp.audit', 'nlp.cluster', 'nlp.features', 'sklearn')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_cli_suggest_and_api_suggest_agree_on_every_corpus_name(
    model_path: Path, bundle, capsys, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    names = sorted({i.name for d in parse_paths([ROOT / "corpus" / "raw"]) for i in d.indicators})
    db = open_store(f"sqlite:///{tmp_path / 'z.sqlite'}")
    token = add_reviewer(db, "li", "reviewer password 1")[1]
    client = TestClient(create_app(db, bundle=bundle, secret="s"))
    headers = {"Authorization": f"Bearer {token}"}
    for name in names:
        api = client.get("/api/suggest", params={"name": name}, headers=headers).json()
        assert main(["suggest", name, "--json", "--model", str(model_path), "--trust-model"]) == 0
        cli = json.loads(capsys.readouterr().out)
        assert api["code"] == cli["code"], name
        assert [(t["code"], t["p"]) for t in api["top"]] == [(c, round(p, 4)) for c, p in cli["top"]], name
        assert api["process_probability"] == round(cli["process"], 4), name
        assert api["reason"] == cli["reason"], name
