"""nlp.holdout: leave-document-out figures on a small slice (the full corpus runs in bench/eval_holdout.py)."""

from __future__ import annotations

from nlp.corpus import Corpus, load_corpus
from nlp.gold import match_gold
from nlp.holdout import audit_figures, format_table, leave_document_out, reliability
from nlp.taxonomy import LEAVES


def test_leave_document_out_judges_every_labelled_indicator_of_held_out_documents(corpus_dir) -> None:  # type: ignore[no-untyped-def]
    full = load_corpus(corpus_dir, wild=False)
    keep = [i for i in full.indicators if i.doc[:3] in ("002", "003")]
    corpus = Corpus(tuple(keep), full.gold, "slice")
    report = leave_document_out(corpus, corpus_dir=corpus_dir, n_splits=2, views=("document",))
    labelled = [row for row in match_gold(keep, full.gold) if row is not None and row.gold_code in LEAVES]
    seed = report["views"]["document"]["full"]["seed"]
    assert seed["classifier"]["n"] == len(labelled) > 0
    assert 0.0 <= seed["classifier"]["accuracy_acceptable"] <= 1.0
    assert set(report["views"]["document"]) == {"full", "seed_only"}
    assert report["views"]["document"]["full"]["wild"]["classifier"] == {}  # no wild documents in the slice
    assert "二级ok" in format_table(report)


def test_reliability_bands_count_what_was_right() -> None:
    cases = [
        (True, True, 0.85, "r"),
        (False, True, 0.82, "r"),
        (True, True, 0.95, "r"),
        (False, False, 0.1, ""),
    ]
    assert reliability(cases) == [
        {"band": "0.8–0.9", "n": 2, "misplaced": 1, "share": 0.5},
        {"band": "0.9–1.0", "n": 1, "misplaced": 1, "share": 1.0},
    ]


def test_audit_figures_report_precision_recall_and_per_reason() -> None:
    cases = [
        (True, True, 0.9, "process_item"),
        (False, True, 0.6, "category_mismatch"),
        (True, False, 0.2, ""),
    ]
    figures = audit_figures(cases, ["flagged", "flagged", "review"])
    assert (figures["precision"], figures["recall"]) == (0.5, 0.5)
    assert figures["per_reason"] == {
        "process_item": {"flags": 1, "precision": 1.0},
        "category_mismatch": {"flags": 1, "precision": 0.0},
    }
    assert figures["review"] == {"n": 1, "misplaced": 1}
