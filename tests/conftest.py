from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
def full_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model of the whole corpus (seed + wild), trained once per session: for the slow tests that
    check what the product model achieves."""
    from nlp.corpus import train_model

    path = tmp_path_factory.mktemp("model") / "zhibiao.joblib"
    train_model(corpus=CORPUS, path=path)
    return path


@pytest.fixture(scope="session")
def full_bundle(full_model_path: Path):  # type: ignore[no-untyped-def]
    from nlp.persist import load_model

    return load_model(full_model_path)


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model for the unit tests: two seed documents and their gold, no cross-validation, a
    couple of seconds to train. Tests of what the real model achieves use ``full_bundle``."""
    from nlp.corpus import load_corpus
    from nlp.train import train

    corpus = load_corpus(CORPUS, wild=False)
    small = [i for i in corpus.indicators if i.doc[:3] in ("002", "004")]
    path = tmp_path_factory.mktemp("small-model") / "zhibiao.joblib"
    train(small, list(corpus.gold), digest="small-fixture", path=path, with_cv=False)
    return path


@pytest.fixture(scope="session")
def bundle(model_path: Path):  # type: ignore[no-untyped-def]
    from nlp.persist import load_model

    return load_model(model_path)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (skipped, saying why, where it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian chromium not installed at /usr/bin/chromium (apt-get install chromium; `make test` does)"
        )
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
