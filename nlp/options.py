"""Options several commands share, declared once (so their help never drifts apart), and the model they load."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["DB_HELP", "add_model_option", "add_db_option", "add_threshold_option", "_bundle"]

_MODEL_HELP = "model bundle (default models/zhibiao.joblib; trained from corpus/ first if missing)"
DB_HELP = "store URL (default $ZHIBIAO_DB or sqlite:///var/zhibiao.sqlite; postgresql+psycopg://… works)"


def add_model_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help=_MODEL_HELP)
    p.add_argument(
        "--trust-model",
        action="store_true",
        help="load a --model that lies outside models/ (its signature is still checked before it is read)",
    )


def add_db_option(p: argparse.ArgumentParser, *, help: str = DB_HELP) -> None:  # noqa: A002
    p.add_argument("--db", help=help)


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value:g}")
    return value


def add_threshold_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threshold",
        type=_threshold,
        default=None,
        help="flag score threshold, 0–1 (default 0.9; from 0.3 below it a case is listed for review)",
    )


def _bundle(args: argparse.Namespace, *, warm_up: bool = False):  # type: ignore[no-untyped-def]
    """The model of ``--model`` (trained first if missing). One-shot commands load lazily; a server
    passes ``warm_up=True`` so its first request does not pay for building the value parser."""
    from nlp.corpus import ensure_model
    from nlp.errors import ModelError
    from nlp.persist import DEFAULT_MODEL_PATH

    model = Path(args.model) if getattr(args, "model", None) else None
    if model is not None and not getattr(args, "trust_model", False):
        home = DEFAULT_MODEL_PATH.resolve().parent
        if home not in model.resolve().parents:
            raise ModelError("E014", path=model)
    return ensure_model(path=model, warm_up=warm_up)
