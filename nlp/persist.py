"""Persistence of model bundles: signed files, checked before anything is unpickled.

``save_model`` writes the joblib bundle and ``PATH.sig``, an HMAC-SHA256 of the file's bytes under a key
the project creates on first use (``models/.key`` or the file ``$ZHIBIAO_MODEL_KEY`` names, mode 0600).
``load_model`` verifies that signature over the raw bytes before unpickling those same bytes, then checks
the library versions the bundle was built with; every refusal is a coded ModelError that says how to retrain.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import platform
import secrets
from collections.abc import Iterable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from nlp.model import DEFAULT_MODEL_PATH, ROOT, Bundle, warm

__all__ = [
    "MODEL_KEY_ENV", "save_model", "load_model", "sign_model_file", "model_key", "model_card",
    "library_versions", "corpus_digest",
]  # fmt: skip


# ------------------------------------------------------------------------------------------ helpers


def corpus_digest(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def library_versions() -> dict[str, str]:
    """Versions the bundle depends on, read from package metadata (importing spaCy would cost a second)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "unknown"

    return {
        "python": platform.python_version(),
        "scikit-learn": installed("scikit-learn"),
        "jieba": installed("jieba"),
        "spacy": installed("spacy"),
        "numpy": np.__version__,
    }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -------------------------------------------------------------------------------------- persistence


def save_model(bundle: Bundle, path: Path | None = None) -> Path:
    """Write the bundle with joblib, its signature (``PATH.sig``) and a short model card (``.md``).

    The signature is an HMAC-SHA256 of the file's bytes under this installation's key (see
    :func:`model_key`): :func:`load_model` checks it before unpickling anything.
    """
    import joblib

    path = Path(path or DEFAULT_MODEL_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "kind": "zhibiao-model",
        "pipe": bundle.pipe,
        "process_pipe": bundle.process_pipe,
        "version": bundle.version,
        "meta": bundle.meta,
    }
    joblib.dump(payload, path, compress=3)
    sign_model_file(path)
    path.with_suffix(".md").write_text(model_card(bundle), encoding="utf-8")
    return path


# A joblib file is a pickle: loading one runs whatever code its author chose. A model is loaded only
# when its bytes carry an HMAC under a key that never leaves this installation, i.e. when zhibiao
# itself wrote it.
MODEL_KEY_ENV = "ZHIBIAO_MODEL_KEY"
_SIGNATURE_KIND = "zhibiao-model-signature"
_SIGNATURE_MAX = 4096  # bytes: a manifest is ~200; a larger .sig is not ours and is not read whole


def _key_path() -> Path:
    return Path(os.environ.get(MODEL_KEY_ENV) or ROOT / "models" / ".key")


def model_key() -> bytes:
    """The installation's model-signing key, created (mode 0600) on first use.

    It lives in ``models/.key``, or in the file ``$ZHIBIAO_MODEL_KEY`` names.

    >>> len(model_key())  # doctest: +SKIP
    32
    """
    path = _key_path()
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name, then linked into place: a concurrent first use (parallel workers)
    # either wins the link or reads the winner's complete key, never a half-written one.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        with suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    if len(key) < 16:
        raise ValueError(f"{path}: the model key is too short")
    return key


def _signature_path(path: Path) -> Path:
    return path.with_name(path.name + ".sig")


def _mac(data: bytes) -> str:
    return hmac.new(model_key(), data, hashlib.sha256).hexdigest()


def sign_model_file(path: Path) -> Path:
    """Write ``PATH.sig``, the signed manifest of the model file at ``path``; returns its path."""
    data = Path(path).read_bytes()
    manifest = {
        "kind": _SIGNATURE_KIND,
        "algorithm": "HMAC-SHA256",
        "file": Path(path).name,
        "bytes": len(data),
        "hmac": _mac(data),
    }
    signature = _signature_path(Path(path))
    temporary = signature.with_name(f".{signature.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, signature)
    return signature


def _verified_bytes(path: Path) -> bytes:
    """The model file's bytes, once they match their signature; :class:`ModelError` E013 otherwise."""
    from nlp.errors import ModelError

    signature = _signature_path(path)

    def refuse(reason: str) -> ModelError:
        return ModelError("E013", path=path, reason=reason, signature=signature.name, key=_key_path())

    try:
        with signature.open("rb") as handle:
            raw = handle.read(_SIGNATURE_MAX + 1)
    except FileNotFoundError:
        raise refuse("it has no signature file") from None
    except OSError as exc:
        raise refuse(f"its signature file cannot be read ({exc.strerror})") from None
    try:
        manifest = json.loads(raw.decode("utf-8")) if len(raw) <= _SIGNATURE_MAX else None
    except (UnicodeDecodeError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("kind") != _SIGNATURE_KIND:
        raise refuse("its signature file is not a zhibiao signature")
    expected = manifest.get("hmac")
    data = path.read_bytes()  # verified and unpickled from this one copy: no swap in between
    try:
        actual = _mac(data)
    except (OSError, ValueError) as exc:
        raise refuse(f"the signing key cannot be read ({exc})") from None
    if not isinstance(expected, str) or not hmac.compare_digest(expected, actual):
        raise refuse("its signature does not match its content")
    return data


def model_card(bundle: Bundle) -> str:
    meta = bundle.meta
    cv = meta.get("cv", {})
    lines = [
        f"# zhibiao model {bundle.version}",
        "",
        f"- created: {meta.get('created', '')}",
        f"- family: {meta.get('family', '')}",
        f"- training examples: {meta.get('n_train', '')} ({meta.get('label_sources', {})})",
        f"- corpus digest: {meta.get('corpus_digest', '')}; taxonomy {meta.get('taxonomy_version', '')}",
        f"- libraries: {meta.get('versions', {})}",
        "",
        "## Grouped 5-fold CV against seed gold (groups = indicator name)",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in cv.items() if not isinstance(value, dict)]
    lines += [
        "",
        "Labels: reviewer decisions > seed gold > declared code; process items (PR) are not classes.",
    ]
    return "\n".join(lines) + "\n"


def load_model(path: Path | None = None, *, warm_up: bool = True) -> Bundle:
    """Load a bundle this project wrote; refuse one built with another scikit-learn or jieba.

    The file's signature (``PATH.sig``, written by :func:`save_model`) is checked before it is
    unpickled: an unsigned or altered file is refused with E013 and never executed.

    Raises :class:`nlp.errors.ModelError` with the command that fixes it.
    """
    import joblib

    from nlp.errors import ModelError

    path = Path(path or DEFAULT_MODEL_PATH)
    if not path.exists():
        raise ModelError("E010", path=path)
    data = _verified_bytes(path)  # before a single byte is unpickled
    try:
        payload = joblib.load(io.BytesIO(data))
    except Exception as exc:  # signed but truncated or not a joblib file
        raise ModelError("E012", path=path) from exc
    if not isinstance(payload, dict) or payload.get("kind") != "zhibiao-model":
        raise ModelError("E012", path=path)
    built = payload["meta"].get("versions", {})
    installed = library_versions()
    for library in ("scikit-learn", "jieba", "spacy"):
        if built.get(library) != installed[library]:
            raise ModelError(
                "E011", path=path, library=library, built=built.get(library), installed=installed[library]
            )
    bundle = Bundle(
        pipe=payload["pipe"],
        version=payload["version"],
        meta=payload["meta"],
        process_pipe=payload.get("process_pipe"),
    )
    if warm_up:
        warm(bundle)
    return bundle
