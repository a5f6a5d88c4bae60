"""One catalogue of error codes; every message says what was wrong and what to do."""

from __future__ import annotations

__all__ = ["ZhibiaoError", "InputError", "ModelError", "Errors"]


class Errors:
    E001 = "File not found: {path}. Check the path and try again."
    E002 = "{path} is empty. Remove it from the batch or export the table again."
    E003 = (
        "{path} could not be decoded as UTF-8, GB18030 or GBK. Save it as UTF-8 text (or export the "
        "table as .xlsx) and try again."
    )
    E004 = (
        "{path}: no indicator table found (expected coded lists like '1、1-产出指标；11-数量指标；…', "
        "a 一级指标/二级指标/三级指标 grid or a table with a name column). Check that this is a 绩效目标表."
    )
    E005 = "{path}:{line}: indicator is truncated ({detail}). Complete the item in the source or remove it."
    E006 = "{path}: unsupported file type '{suffix}'. Use .txt, .csv, .xlsx, .pdf or .docx."
    E007 = "{path} row {line}: no indicator name (column {column}). Fill it in or remove the row."
    E008 = "{path}: {detail}"
    E010 = "No trained model at {path}. Run `zhibiao train` first."
    E011 = (
        "The model at {path} was built with {library} {built}, but {installed} is installed. "
        "Retrain with `zhibiao train` (it takes under a minute)."
    )
    E012 = "{path} is not a zhibiao model bundle. Retrain with `zhibiao train`."
    E020 = "Unknown category code '{code}'. Use one of {codes}."


class ZhibiaoError(Exception):
    """Base class: ``code`` is the catalogue entry, the message says what to do."""

    def __init__(self, code: str, **fields: object) -> None:
        self.code = code
        self.fields = fields
        template = getattr(Errors, code)
        super().__init__(f"[{code}] " + template.format(**fields))


class InputError(ZhibiaoError):
    """A document or table could not be read."""


class ModelError(ZhibiaoError):
    """A model bundle is missing, foreign or built with other library versions."""
