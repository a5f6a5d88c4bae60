"""The store and workbench commands: ``zhibiao load``, ``zhibiao serve``, ``zhibiao user add``."""

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

    app = create_app(open_store(args.db), bundle=_bundle(args, warm_up=True))
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
