"""The store and workbench commands: ``zhibiao load``, ``serve``, ``user add|unlock``, ``export`` and
``import-decisions`` (the reviewer workbook out and back in)."""

from __future__ import annotations

import argparse
import sys

from nlp.options import _bundle, add_db_option, add_model_option

__all__ = ["register_store_commands"]


def cmd_load(args: argparse.Namespace) -> int:
    from nlp.annotate import load_documents
    from nlp.parse import parse_paths
    from nlp.store import open_store

    db = open_store(args.db)
    documents = parse_paths(args.paths, n_jobs=args.workers)
    report = load_documents(db, documents, bundle=_bundle(args))
    print(
        f"Loaded {report.documents} documents, {report.indicators} indicators into {db.safe_url}: "
        f"{report.added} new, {report.updated} updated, {report.retired} retired; "
        f"{report.flagged} flagged, {report.clusters} clusters; "
        f"{report.decisions_kept} decisions kept (model {report.model_version})"
    )
    for problem in report.problems:
        print(f"Skipped: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from nlp.store import open_store
    from nlp.web import create_app

    app = create_app(
        open_store(args.db), bundle=_bundle(args, warm_up=True), secure_cookies=args.secure_cookies
    )
    print(f"Review page: http://{args.host}:{args.port}/  API docs: http://{args.host}:{args.port}/docs")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    import getpass

    from nlp.auth import add_reviewer
    from nlp.store import open_store

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {args.name}: ")
        if password and password != getpass.getpass("Repeat it: "):
            print("Error: the two passwords differ; nothing was created.", file=sys.stderr)
            return 1
    reviewer, token = add_reviewer(open_store(args.db), args.name, password, admin=args.admin)
    print(f"Created {reviewer.role} '{reviewer.name}'. API token (shown once; store it safely):")
    print(token)
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from nlp.auth import unlock
    from nlp.store import open_store

    if not args.name and not args.address:
        print("Error: name an account, or give --address ADDRESS.", file=sys.stderr)
        return 1
    forgiven = unlock(open_store(args.db), name=args.name or "", address=args.address or "")
    who = f"account '{args.name}'" if args.name else f"address {args.address}"
    print(f"Sign-in unlocked for {who} ({forgiven} recent failed attempt(s) forgiven).")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nlp.review import QueueFilter
    from nlp.store import open_store
    from nlp.tabular import atomic_path
    from nlp.workbook import reviewer_rows, reviewer_workbook, write_corrected

    if not args.reviewer and not args.corrected:
        print("Error: say what to export: --reviewer FILE.xlsx and/or --corrected FOLDER.", file=sys.stderr)
        return 1
    db = open_store(args.db)
    if args.reviewer:
        filters = QueueFilter(department=args.department or "", tier=args.tier)
        target = Path(args.reviewer)
        if target.suffix.lower() != ".xlsx":
            print(
                f"Error: {target}: the reviewer workbook is an .xlsx file; name it e.g. review.xlsx.",
                file=sys.stderr,
            )
            return 1
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as temporary:
            temporary.write_bytes(reviewer_workbook(db, filters=filters))
        n = len(reviewer_rows(db, filters=filters))
        print(
            f"Wrote {n} rows to {target}. Fill in 审核结论, then: zhibiao import-decisions {target} --reviewer NAME"
        )
    if args.corrected:
        files = write_corrected(db, args.corrected)
        print(f"Wrote {len(files)} corrected tables (one per department) to {args.corrected}.")
    return 0


def cmd_import_decisions(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from nlp.errors import ZhibiaoError
    from nlp.schema import reviewers
    from nlp.store import open_store
    from nlp.workbook import import_decisions

    db = open_store(args.db)
    with db.read() as conn:
        reviewer_id = conn.execute(select(reviewers.c.id).where(reviewers.c.name == args.reviewer)).scalar()
    if reviewer_id is None:
        raise ZhibiaoError("E095", name=args.reviewer)
    report = import_decisions(db, args.file, reviewer_id=int(reviewer_id))
    print(
        f"Imported {report.decided} decisions by {args.reviewer} from {args.file}; {report.empty} rows left "
        f"empty, {report.unchanged} unchanged, {len(report.problems)} refused."
    )
    for _row, message in report.problems:
        print(f"Skipped: {message}", file=sys.stderr)
    return 1 if report.problems else 0


def register_store_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "load",
        help="parse, classify, audit and cluster documents into the review store",
        description="Load documents into the store; re-loading updates them and keeps decisions.",
        epilog="Example: zhibiao load corpus/raw --db sqlite:///var/zhibiao.sqlite",
    )
    p.add_argument("paths", nargs="+", help="documents or folders (.txt .csv .xlsx .pdf .docx)")
    add_db_option(p)
    add_model_option(p)
    p.add_argument("--workers", type=int, default=1, help="parse files in parallel (default 1)")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser(
        "serve",
        help="serve the review page and the JSON API",
        description="Serve the reviewer workbench (page at /, OpenAPI at /docs) with uvicorn.",
        epilog="Example: zhibiao serve --db sqlite:///var/zhibiao.sqlite --port 8000",
    )
    add_db_option(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--secure-cookies",
        action="store_true",
        help="mark the session cookie Secure (serve behind TLS / an HTTPS proxy)",
    )
    add_model_option(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "user",
        help="manage reviewer accounts",
        description="Manage reviewer accounts.",
        epilog="Example: zhibiao user add wang --admin",
    )
    users = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = users.add_parser(
        "add",
        help="create a reviewer and print their API token once",
        description="Create a reviewer (password from a prompt or stdin); prints the API token.",
        epilog="Example: echo 'a long secret' | zhibiao user add li --password-stdin",
    )
    p.add_argument("name", help="login name (letters, digits, . @ - _)")
    p.add_argument("--admin", action="store_true", help="administrator (may export decisions)")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first stdin line"
    )
    add_db_option(p)
    p.set_defaults(func=cmd_user_add)

    p = users.add_parser(
        "unlock",
        help="lift a sign-in lockout after too many failed attempts",
        description="Lift the lockout of an account (or, with --address, of a client address) at once.",
        epilog="Example: zhibiao user unlock li",
    )
    p.add_argument("name", nargs="?", help="the locked account")
    p.add_argument("--address", help="unlock a client address instead (e.g. 10.0.0.7)")
    add_db_option(p)
    p.set_defaults(func=cmd_user_unlock)

    p = sub.add_parser(
        "export",
        help="write the reviewer workbook, or the corrected tables per department",
        description="Write the flags as a reviewer workbook (Chinese headers, an empty 审核结论 column), "
        "and/or each department's indicators with their final categories after review.",
        epilog="Example: zhibiao export --reviewer out/review.xlsx --corrected out/corrected",
    )
    p.add_argument("--reviewer", metavar="FILE.xlsx", help="write the reviewer workbook to fill in")
    p.add_argument(
        "--corrected",
        metavar="FOLDER",
        help="write the corrected table of each department (final categories)",
    )
    p.add_argument("--department", help="only this department's flags")
    p.add_argument(
        "--tier",
        choices=("flagged", "review", "all"),
        default="flagged",
        help="which flags (default flagged)",
    )
    add_db_option(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "import-decisions",
        help="record the filled-in 审核结论 of a reviewer workbook as decisions",
        description="Read a reviewer workbook back: each filled 审核结论 becomes a decision; bad rows are listed.",
        epilog="Example: zhibiao import-decisions out/review.xlsx --reviewer li",
    )
    p.add_argument("file", help="the filled workbook (.xlsx from zhibiao export --reviewer)")
    p.add_argument("--reviewer", required=True, help="whose decisions they are (an existing account)")
    add_db_option(p)
    p.set_defaults(func=cmd_import_decisions)
