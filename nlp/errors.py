"""One catalogue of error codes; every message says what was wrong and what to do."""

from __future__ import annotations

from nlp.records import Problem

__all__ = ["ZhibiaoError", "InputError", "ModelError", "Errors", "problem"]


class Errors:
    # E001-E009: reading documents and tables (nlp/parse.py). Messages start with "{path}:" or
    # "{path}:{line}:"; a Problem prints that location itself, so parse drops it from Problem.message.
    E001 = "{path}: file not found. Check the path and try again."
    E002 = "{path}: the file is empty. Remove it from the batch or export the table again."
    E003 = (
        "{path}: could not be decoded as UTF-8, UTF-16 (with BOM), GB18030 or GBK. Save it as UTF-8 text (or "
        "export the table as .xlsx) and try again."
    )
    E004 = (
        "{path}: no indicator table found (expected coded lists like '1、1-产出指标；11-数量指标；…', "
        "a 一级指标/二级指标/三级指标 grid or a table with a name column). Looked for the header words "
        "一级指标, 二级指标, 三级指标, 指标名称, 指标值, 年度指标值, 目标值, 实际完成值, 评价指标 and for category "
        "labels such as 产出指标 / 数量指标. Check that this is a 绩效目标表."
    )
    E019 = "{path}:{line}: not read as an indicator ({reason}): {text}"
    E005 = "{path}:{line}: indicator is truncated ({detail}). Complete the item in the source or remove it."
    E006 = (
        "{path}: unsupported file type '{suffix}'. Check the extension: documents are read from .txt, .csv, "
        ".xlsx, .pdf or .docx; indicator tables are written as .csv, .jsonl or .xlsx."
    )
    E007 = "{path}:{line}: no indicator name (column {column}). Fill it in or remove the row."
    E008 = "{path}: could not be read: {detail}."
    E009 = (
        "{path}:{line}: project '{project}' has no indicators ({detail}). Add its indicator list or rows, "
        "or check that the layout was recognised."
    )
    E010 = "No trained model at {path}. Run `zhibiao train` first."
    E011 = (
        "The model at {path} was built with {library} {built}, but {installed} is installed. "
        "Retrain with `zhibiao train` (it takes under a minute)."
    )
    E012 = "{path} is not a zhibiao model bundle. Retrain with `zhibiao train`."
    E014 = (
        "--model {path} lies outside models/. A model file can carry code: give --trust-model if it comes "
        "from a source you trust (its signature is still checked), or copy it into models/."
    )
    E013 = (
        "{path}: refused to load the model: {reason}. zhibiao loads only model files it wrote and signed "
        "({signature}, under the key in {key}), because loading any other file could run its code. "
        "Retrain with `zhibiao train`; for a model trained on another machine, copy that machine's key "
        "file too (or point $ZHIBIAO_MODEL_KEY at it)."
    )
    E020 = "Unknown category code '{code}'. Use one of {codes}."
    E030 = (
        "The jieba user dictionary {path} is missing or not UTF-8. Reinstall zhibiao or restore "
        "nlp/data/userdict.txt from the repository."
    )
    E031 = (
        "{path} line {line}: '{text}' is not 'word [frequency] [tag]'. Fix the line (the frequency is a "
        "whole number) or start it with # to comment it out."
    )
    E032 = (
        "The value lexicon {path} is missing or not valid JSON. Reinstall zhibiao or restore "
        "nlp/data/value_words.json from the repository."
    )
    # E040-E049: boilerplate clusters (nlp/cluster.py)
    E040 = "Unknown level '{level}'. Use one of {levels}."
    E041 = (
        "Threshold {threshold} is out of range. Give a similarity above 0 and at most 1 "
        "(e.g. --threshold 0.5; higher merges only closer copies)."
    )
    E042 = "{path}: cannot write clusters as '{suffix}'. Use a .csv, .xlsx or .html file name."
    E043 = "{path}: could not write the clusters ({detail}). Check that the folder is writable and try again."
    # E050-E059: PDF, Word and Excel files (nlp/readers/office.py, nlp/readers/sheets.py); messages start with "{path}:" like E001-E009.
    E050 = (
        "{path}: no text layer ({pages} page(s) of images only: a scan?). OCR is not supported: ask for "
        "the original Word/Excel file or a text PDF, or run OCR (e.g. ocrmypdf) first."
    )
    E051 = "{path}: the PDF is password-protected. Save an unprotected copy (or ask the publisher for one)."
    E052 = (
        "{path}: could not be read as {kind} ({detail}). Check that it is not damaged or renamed; "
        "open it and save it again."
    )
    E053 = "{path}: old binary Word files (.doc) cannot be read. Save it as .docx in Word or LibreOffice."
    E054 = (
        "{path}: page(s) {pages} have no text layer (scanned images?) and were skipped; the other pages "
        "were read. Check those pages against the original."
    )
    E055 = "{path}: reading old .xls workbooks needs xlrd (pip install xlrd), or save the file as .xlsx."
    E056 = (
        "{path}: no indicator table in any sheet ({sheets}); expected a 一级指标/二级指标/三级指标 header "
        "or coded lists like '1-产出指标；11-数量指标'. Check that this is a 绩效目标表."
    )
    E057 = "{path}: refused before reading: {what} is {value}; the limit is {limit}. {advice}"
    E058 = (
        "{path}: reading it took longer than the per-file time budget of {limit} s and was stopped; "
        "the other files were read. Split the file, or raise the budget with --file-timeout."
    )
    E059 = "{path}:{line}: {what} is {value}; the limit is {limit}. {advice}"
    # E060-E079: store and web (nlp/store.py, nlp/auth.py, nlp/web.py)
    E060 = (
        "Cannot open the store at {url}: {detail}. Check the --db URL (sqlite:///var/zhibiao.sqlite or "
        "postgresql+psycopg://USER@HOST/DB) and that the server is running."
    )
    E061 = "Invalid {field}: {detail}. Fix the value and send the request again."
    E062 = "{what} not found. Check the address or id and try again."
    E063 = "Sign in first: log in at /login, or send 'Authorization: Bearer TOKEN' (from `zhibiao user add`)."
    E064 = "This needs an administrator account. Ask an administrator, or create one with `zhibiao user add NAME --admin`."
    E065 = "The CSRF token is missing or stale. Reload the page and try again."
    E066 = "Unknown category code '{value}'. Use one of {codes}."
    E067 = "{field} is too long ({length} characters, at most {limit}). Shorten it and try again."
    E068 = "The request body is not valid JSON ({detail}). Send a JSON object, e.g. {example}."
    E069 = "Reviewer '{name}' already exists. Pick another name."
    E070 = "Wrong reviewer name or password. Check both and try again."
    E071 = "Unsupported export format '{format}'. Use csv or xlsx."
    E072 = "Method {method} is not allowed on {path}. Use {allowed}."
    E073 = "Internal error ({detail}). The request changed nothing; try again, and report it if it persists."
    E074 = "No password given. Type it at the prompt, or pipe it in with --password-stdin."
    E075 = "Nothing to undo: you have no decision on indicator {indicator} that is still in force."
    E076 = "The request body is too large ({length} bytes, at most {limit}). Send less."
    E077 = (
        "The store at {url} has no schema yet or an old one. Run `zhibiao load` (it migrates) and try again."
    )
    E078 = "Cannot store the run: {detail}. This is a bug in the caller; report it with the command you ran."
    # E079 and E090-E099: the workbench (reserved for the web/auth/review work; fill in as needed).
    E079 = (
        "Too many failed sign-ins for {who}; sign-in is locked for {minutes} minute(s). Wait, or ask an "
        "administrator to lift it with `zhibiao user unlock NAME`."
    )
    E090 = "Your session has ended (signed out, expired or revoked). Sign in again at /login."
    E091 = (
        "The group changed since the preview ({previewed} items previewed, {now} now). Preview again and "
        "confirm the new count."
    )
    E092 = "Nothing to undo: bulk action {bulk} is not yours, or was already undone."
    E093 = "{path} row {row}: {detail}. Fill 审核结论 with one of {choices}, or leave it empty."
    E094 = (
        "{path}: not a reviewer workbook from `zhibiao export --reviewer` ({detail}). Export again and fill "
        "in that file."
    )
    E095 = "Unknown reviewer '{name}'. Create the account with `zhibiao user add {name}` first."
    E096 = "Invalid {field} '{value}'. Use one of {allowed}."
    # E080-E089: the batch run (nlp/run.py); E084 is a Problem and starts with "{path}:" like E001-E009.
    E080 = (
        "{path}: cannot write the run's output ({detail}). Choose another --out folder or make it writable."
    )
    E081 = (
        "Cannot reach the Dask scheduler at {address} ({detail}). Start one with `dask scheduler` and "
        "workers with `dask worker {address}`, check the address, or run without --scheduler."
    )
    E082 = "No files found in {paths}. Give files or folders holding .txt, .csv, .xlsx, .pdf or .docx tables."
    E083 = "--workers must be 1 or more, not {workers}."
    E084 = (
        "{path}: the worker parsing it failed ({detail}); the file was skipped. Run `zhibiao parse` on it "
        "alone to see why."
    )
    E085 = (
        "Stopped by {signal} during {stage}; finished outputs are complete and nothing half-written was "
        "left. Run the same command again to finish."
    )


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


def problem(path: str, line: int, code: str, **fields: object) -> Problem:
    """A catalogue message as a Problem; the location prefix is dropped because Problem prints it."""
    text = getattr(Errors, code).format(path=path, line=line, **fields)
    text = text.removeprefix(f"{path}:{line}: ").removeprefix(f"{path}: ")
    return Problem(path=path, line=line, code=code, message=text)
