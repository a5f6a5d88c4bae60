"""The project's corpus: seed documents, real-world indicator records and the reviewed gold, and the
model trained from them.

- ``corpus/raw/`` — the seed documents, parsed like any input;
- ``corpus/wild/indicators.csv`` — indicators of real published tables from other provinces, kept as
  records (document id, project, declared 一级/二级, name, values), with ``SOURCES.csv``;
- ``corpus/gold/*_gold.csv`` — reviewed standard categories (``seed_gold.csv``, ``wild_gold.csv``).

>>> corpus = load_corpus(DEFAULT_CORPUS)  # doctest: +SKIP
>>> len(corpus.indicators) > 699, len(corpus.gold) > 490  # doctest: +SKIP
(True, True)
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nlp.gold import GoldRow, load_gold
from nlp.model import DEFAULT_MODEL_PATH, Bundle, LabelledText
from nlp.persist import corpus_digest, load_model
from nlp.records import Indicator
from nlp.taxonomy import declared_code, detect_scheme

__all__ = ["DEFAULT_CORPUS", "Corpus", "load_corpus", "read_wild", "train_model", "ensure_model"]

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@dataclass(frozen=True)
class Corpus:
    indicators: tuple[Indicator, ...]
    gold: tuple[GoldRow, ...]
    digest: str

    @property
    def documents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(ind.doc for ind in self.indicators))


def read_wild(path: Path) -> list[Indicator]:
    """Indicator records of ``corpus/wild/indicators.csv``: one row per indicator of a real table.

    The scheme is detected per project from the declared labels, as the parser does for documents.
    """
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for row in rows:
        l1s, l2s = labels.setdefault((row["doc_id"], row["project"]), ([], []))
        l1s.append(row["declared_l1"])
        l2s.append(row["declared_l2"])
    schemes = {key: detect_scheme(l1s, l2s) for key, (l1s, l2s) in labels.items()}
    return [
        Indicator(
            doc=row["doc_id"],
            department=row.get("department", "") or "",
            project=row["project"],
            goal="",
            budget=None,
            scheme=schemes[(row["doc_id"], row["project"])],
            declared_l1=row["declared_l1"],
            declared_l2=row["declared_l2"],
            declared_code=declared_code(row["declared_l1"], row["declared_l2"]),
            name=row["name"],
            description=row.get("description", "") or "",
            annual_value=row.get("target_value", "") or "",
            actual_value=row.get("actual_value", "") or "",
            weight=row.get("weight", "") or "",
            score=row.get("score", "") or "",
            line=number,
        )
        for number, row in enumerate(rows, start=2)
        if row["name"].strip()
    ]


def load_corpus(corpus: Path = DEFAULT_CORPUS, *, wild: bool = True) -> Corpus:
    """Seed indicators (parsed from ``raw/``), wild records and every gold file of ``corpus``.

    ``wild=False`` gives the seed-only corpus (the baseline the evaluation compares against).
    """
    from nlp.parse import parse_paths

    documents = parse_paths([corpus / "raw"])
    indicators = [ind for doc in documents for ind in doc.indicators]
    gold_files = [corpus / "gold" / "seed_gold.csv"]
    files = [*sorted((corpus / "raw").glob("*")), *gold_files]
    if wild:
        records = corpus / "wild" / "indicators.csv"
        indicators += read_wild(records)
        gold_files.append(corpus / "gold" / "wild_gold.csv")
        files += [records, gold_files[-1]]
    gold = [row for path in gold_files if path.exists() for row in load_gold(path)]
    # The model also learns from the package's own data (cue words, textbook examples): a change there
    # is a new model too.
    files += sorted((Path(__file__).resolve().parent / "data").glob("*"))
    return Corpus(tuple(indicators), tuple(gold), corpus_digest([f for f in files if f.is_file()]))


def train_model(
    *,
    corpus: Path = DEFAULT_CORPUS,
    path: Path | None = None,
    reviewed: Iterable[LabelledText] = (),
    family: str | None = None,
    with_cv: bool = True,
    wild: bool = True,
) -> Bundle:
    """Load the corpus, train, save and return the model (``zhibiao train``)."""
    from nlp.train import DEFAULT_FAMILY, train

    loaded = load_corpus(corpus, wild=wild)
    return train(
        loaded.indicators,
        loaded.gold,
        digest=loaded.digest,
        path=path,
        reviewed=reviewed,
        family=family or DEFAULT_FAMILY,
        with_cv=with_cv,
    )


def ensure_model(*, corpus: Path | None = None, path: Path | None = None, warm_up: bool = True) -> Bundle:
    """Load the model, or train it from the corpus when there is none yet (saying so on stderr).

    ``warm_up=False`` skips building the value parser up front: right for a one-shot command, wrong for
    a server.
    """
    import sys

    path = Path(path or DEFAULT_MODEL_PATH)
    if path.exists():
        return load_model(path, warm_up=warm_up)
    print(f"No model at {path}: training one from {corpus or DEFAULT_CORPUS} first …", file=sys.stderr)
    return train_model(corpus=corpus or DEFAULT_CORPUS, path=path)
