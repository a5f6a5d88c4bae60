"""Test kit for the store and the web: a throwaway PostgreSQL cluster, fake model services, small documents,
and a live uvicorn server in a thread.

PostgreSQL: Debian's server binaries (``/usr/lib/postgresql/*/bin``) start one cluster per test session in
a temporary directory on a free loopback port (as the ``postgres`` user when we are root: the server
refuses to run as root); every test gets its own database. Without the binaries the PostgreSQL cases skip
with the reason printed by ``pytest -ra``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from nlp.annotate import Annotated, Services
from nlp.audit import Verdict
from nlp.cluster import Cluster, Member
from nlp.model import Prediction
from nlp.records import Document, Indicator, Project
from nlp.taxonomy import LEAF_NAMES, PROCESS, l1_for_leaf

# ------------------------------------------------------------------------------------------- postgres


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return candidates[-1].parent if candidates else None


class PgCluster:
    """A PostgreSQL server of our own: initdb in a temp dir, pg_ctl start on a free port, stop at exit."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.data = Path(tempfile.mkdtemp(prefix="zhibiao-pg-"))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if self.as_postgres:
            shutil.chown(self.data, "postgres", "postgres")
        pgdata = self.data / "pgdata"
        self._run(str(self.bindir / "initdb"), "-D", str(pgdata), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.data} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run(str(self.bindir / "pg_ctl"), "-D", str(pgdata), "-l", str(self.data / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data / "pgdata"), "-m", "immediate", "stop")
        shutil.rmtree(self.data, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


_CLUSTER: PgCluster | None = None
_CLUSTER_ERROR: str = ""


def postgres() -> PgCluster:
    """The session's cluster, started on first use (one per process, whichever module asks first)."""
    global _CLUSTER, _CLUSTER_ERROR
    if _CLUSTER is None and not _CLUSTER_ERROR:
        bindir = _pg_bin()
        if bindir is None:
            _CLUSTER_ERROR = (
                "PostgreSQL server binaries not found (apt-get install postgresql; `make test` does)"
            )
        else:
            cluster = PgCluster(bindir)
            try:
                cluster.start()
            except (subprocess.SubprocessError, OSError) as exc:
                detail = getattr(exc, "stderr", b"") or b""
                _CLUSTER_ERROR = f"could not start PostgreSQL: {exc} {detail.decode(errors='replace')[:300]}"
                cluster.stop()
            else:
                _CLUSTER = cluster
                atexit.register(cluster.stop)
    if _CLUSTER is None:
        pytest.skip(_CLUSTER_ERROR)
    return _CLUSTER


def store_url(kind: str, tmp_path: Path) -> str:
    """A fresh store URL of ``kind`` ("sqlite" or "postgres")."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'zhibiao.sqlite'}"
    return postgres().new_database()


# ---------------------------------------------------------------------------------------------- fakes


# Cue -> (leaf, confidence): enough of TAXONOMY.md §3 to give the fakes distinct, ordered answers.
_RULES: tuple[tuple[str, str, float], ...] = (
    ("满意", "31", 0.95),
    ("到位率", "12", 0.55),
    ("及时", "13", 0.85),
    ("准确率", "12", 0.8),
    ("人数", "11", 0.9),
    ("场次", "11", 0.88),
    ("节约", "21", 0.7),
)

FAKE_BUNDLE = SimpleNamespace(version="fake-1")


def fake_suggest(bundle: Any, name: str, *, value: str = "", description: str = "", scheme: str = "classic",
                 top: int = 3) -> Prediction:  # fmt: skip
    code, confidence = next(((c, p) for cue, c, p in _RULES if cue in name), ("22", 0.4))
    others = [c for c in ("22", "11", "12") if c != code][: top - 1]
    rest = (1 - confidence) / max(len(others), 1)
    return Prediction(
        code=code,
        l1=l1_for_leaf(code, scheme=scheme),
        l2=LEAF_NAMES[code],
        confidence=confidence,
        top=((code, confidence), *((c, rest) for c in others)),
        reason=f"名称含有线索词（{name[:4]}）",
    )


def fake_process(bundle: Any, rows: Sequence[tuple[str, str, str]]) -> list[float]:
    return [0.9 if "到位率" in name or "执行率" in name else 0.05 for name, _description, _value in rows]


def fake_classify(bundle: Any, indicators: Sequence[Indicator]) -> list[Prediction]:
    return [fake_suggest(bundle, ind.name, value=ind.value, scheme=ind.scheme) for ind in indicators]


def fake_audit(indicators: Sequence[Indicator], predictions: Sequence[Prediction], *, bundle: Any,
               threshold: float | None = None) -> list[Verdict]:  # fmt: skip
    verdicts = []
    for ind, pred in zip(indicators, predictions, strict=True):
        if "到位率" in ind.name:
            verdicts.append(Verdict(True, ("process_item",), PROCESS, 0.97, "资金到位是过程指标"))
        elif pred.code != ind.declared_code:
            verdicts.append(Verdict(True, ("category_mismatch",), pred.code, pred.confidence, "类别不符"))
        else:
            verdicts.append(Verdict(False, (), pred.code, 0.1, ""))
    return verdicts


def fake_find_clusters(documents: Sequence[Document], *, level: str) -> list[Cluster]:
    """Indicators with the same name in two or more projects form a cluster."""
    by_name: dict[str, list[Indicator]] = {}
    for document in documents:
        for ind in document.indicators:
            by_name.setdefault(ind.name, []).append(ind)
    found = []
    for number, (name, group) in enumerate(sorted(by_name.items())):
        if len(group) > 1:
            members = tuple(Member(i.doc, i.department, i.project, i.line, i.name, 1.0, "") for i in group)
            found.append(Cluster(f"{level}-{number}", level, len(members), members,
                                     tuple(sorted({i.department for i in group})), name, 1.0))  # fmt: skip
    return found


def fake_annotate(bundle: Any, indicators: Sequence[Indicator]) -> Annotated:
    predictions = fake_classify(bundle, indicators)
    return Annotated(indicators, predictions, fake_audit(indicators, predictions, bundle=bundle))


def fake_suggest_many(
    bundle: Any, keys: Sequence[tuple[str, str, str, str]]
) -> list[tuple[Prediction, float]]:
    process = fake_process(bundle, [(name, description, value) for name, value, description, _ in keys])
    return [
        (fake_suggest(bundle, name, value=value, description=description, scheme=scheme), pr)
        for (name, value, description, scheme), pr in zip(keys, process, strict=True)
    ]


FAKE_SERVICES = Services(
    annotate=fake_annotate,
    suggest_many=fake_suggest_many,
    find_clusters=fake_find_clusters,
    cluster_levels=("indicators",),
    reasons={"process_item": "过程指标", "category_mismatch": "指标内容与所填二级类别不符"},
)

# ------------------------------------------------------------------------------------------ documents

#: (name, declared l1, declared l2, declared code, value) of every project's indicators.
INDICATOR_TABLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("补贴发放人数", "产出指标", "数量指标", "11", "≥500人"),
    ("服务对象满意度", "效益指标", "生态效益指标", "23", "≥90%"),
    ("资金到位率", "产出指标", "质量指标", "12", "100%"),
    ("补助发放及时率", "效益指标", "经济效益指标", "21", "100%"),
    ("培训场次", "产出指标", "数量指标", "11", "12场"),
)


def make_document(doc: str, department: str, projects: Sequence[str], *,
                  table: Sequence[tuple[str, str, str, str, str]] = INDICATOR_TABLE) -> Document:  # fmt: skip
    """A parsed document: each project carries every row of ``table``."""
    built = []
    line = 1
    for name in projects:
        goal = f"通过{name}的实施，保障工作顺利开展。"
        indicators = []
        for ind_name, l1, l2, code, value in table:
            line += 1
            indicators.append(Indicator(doc=doc, department=department, project=name, goal=goal, budget=100.0,
                                        scheme="classic", declared_l1=l1, declared_l2=l2, declared_code=code,
                                        name=ind_name, annual_value=value, line=line))  # fmt: skip
        built.append(Project(doc=doc, department=department, name=name, goal=goal, budget=100.0, scheme="classic",
                             line=line - len(table), indicators=tuple(indicators)))  # fmt: skip
    return Document(path=f"/corpus/{doc}.txt", layout="inline", projects=tuple(built))


def sample_documents() -> list[Document]:
    """Two documents, three departments' worth of projects; 5 indicators per project."""
    return [
        make_document("001_a", "社保局", ["社保工作经费", "就业补贴项目"]),
        make_document("002_b", "医保中心", ["医保扩面经费"]),
    ]


def sample_store(url: str) -> Any:
    """A store at ``url`` loaded with :func:`sample_documents` by the fake model (no model is trained)."""
    from nlp.annotate import load_documents
    from nlp.store import open_store

    store = open_store(url)
    load_documents(store, sample_documents(), bundle=FAKE_BUNDLE, services=FAKE_SERVICES)
    return store


# --------------------------------------------------------------------------------------- live server


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
