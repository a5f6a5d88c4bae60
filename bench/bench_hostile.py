"""Hostile files: how fast and with how little memory each is refused (issue 16's first check).

Builds each file for real in a temporary folder, parses it with `zhibiao parse` in a fresh process,
and prints wall time, peak memory above a process that parses one small good table, and the code.

Run: .venv/bin/python bench/bench_hostile.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_limits import good_xlsx, minimal_pdf, zip_with  # noqa: E402  (the same builders the tests use)


def build(folder: Path) -> dict[str, Path]:
    """Every hostile file, by what it is."""
    files = {"good table (baseline)": good_xlsx(folder / "good.xlsx")}
    files["docx expanding to 1 GiB"] = zip_with(
        folder / "bomb.docx", {"[Content_Types].xml": b"<Types/>", "word/document.xml": 1024 * 2**20}
    )
    files["xlsx expanding to 1 GiB"] = zip_with(
        folder / "bomb.xlsx", {"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": 1024 * 2**20}
    )
    files["xlsx, 15 MB at 1000:1"] = zip_with(
        folder / "ratio.xlsx", {"xl/workbook.xml": b"<workbook/>", "xl/media/pad.bin": 15 * 2**20}
    )
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>x</t></is></c></row>' for i in range(1, 400_001)
    )
    sheet = f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
    with zipfile.ZipFile(good_xlsx(folder / "plain.xlsx")) as source:
        parts = {i.filename: source.read(i.filename) for i in source.infolist()}
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    files["xlsx with 400k rows, no dimension"] = zip_with(folder / "rows.xlsx", parts)
    declared = dict(parts)
    declared["xl/worksheets/sheet1.xml"] = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:XFD1048576"/><sheetData/></worksheet>'
    )
    files["xlsx declaring 17e9 cells"] = zip_with(folder / "declared.xlsx", declared)
    (folder / "pages.pdf").write_bytes(minimal_pdf(100_000))
    files["PDF declaring 100,000 pages"] = folder / "pages.pdf"
    (folder / "line.txt").write_text(
        "一级指标\t二级指标\t三级指标\n" + "x" * 50_000_000 + "\n", encoding="utf-8"
    )
    files["text, one 50 MB line"] = folder / "line.txt"
    (folder / "field.csv").write_text(
        '一级指标,二级指标,三级指标,指标值\n产出指标,数量指标,"' + "y" * 20_000_000 + '",1\n'
    )
    files["CSV, one 20 MB field"] = folder / "field.csv"
    return files


def measure(path: Path) -> tuple[float, float, str]:
    """(seconds, peak MB, last line of the output) of `zhibiao parse PATH` in a fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "nlp", "parse", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    assert process.stdout is not None
    output = process.stdout.read().decode("utf-8", "replace")
    _, _, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    code = next(
        (line.split("]")[0].strip(" [") for line in output.splitlines() if line.strip().startswith("[E")),
        "ok",
    )
    return seconds, usage.ru_maxrss / 1024, code


def main() -> None:
    if sys.argv[1:2] == ["--build"]:  # in a child process, so that this one stays small
        for what, path in build(Path(sys.argv[2])).items():
            print(f"{what}\t{path}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        listing = subprocess.run(
            [sys.executable, __file__, "--build", tmp], capture_output=True, text=True, check=True
        ).stdout
        files = dict(line.split("\t") for line in listing.splitlines())
        base_seconds, base_mb, _ = measure(Path(files.pop("good table (baseline)")))
        print(f"baseline (one good table): {base_seconds:.2f} s, {base_mb:.0f} MB peak")
        print(f"{'hostile file':<36} {'size':>9} {'seconds':>8} {'extra MB':>9}  code")
        for what, name in files.items():
            path = Path(name)
            seconds, peak, code = measure(path)
            size = path.stat().st_size / 2**20
            print(f"{what:<36} {size:>7.1f}MB {seconds:>8.2f} {peak - base_mb:>9.0f}  {code}")


if __name__ == "__main__":
    main()
