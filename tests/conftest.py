from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
RAW = CORPUS / "raw"
GOLD = CORPUS / "gold" / "seed_gold.csv"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    return RAW


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def seed_paths() -> dict[str, Path]:
    """The five seed documents by their 3-digit prefix."""
    return {p.name[:3]: p for p in sorted(RAW.glob("*.txt"))}


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained once per test session from the corpus, in a temporary folder."""
    from nlp.corpus import train_model

    path = tmp_path_factory.mktemp("model") / "zhibiao.joblib"
    train_model(corpus=CORPUS, path=path)
    return path


@pytest.fixture(scope="session")
def bundle(model_path: Path):  # type: ignore[no-untyped-def]
    from nlp.model import load_model

    return load_model(model_path)
