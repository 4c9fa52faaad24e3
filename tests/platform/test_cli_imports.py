"""``crm import``: an XLSX file with Chinese headers, the dry run, the run with --progress, status, errors, undo."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from click.testing import CliRunner, Result
from openpyxl import Workbook

from crm_platform.cli import cli
from crm_platform.demo import DATA_DIR


def crm(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert not result.exception or isinstance(result.exception, SystemExit), result.output
    return result


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_an_xlsx_file_with_progress_then_undo_it(crm_env: dict[str, str], tmp_path: Path) -> None:
    """Headers are the zh-CN labels; a bad e-mail is reported by row and column; undo removes the rest."""
    assert crm("import-meta", str(DATA_DIR), "--publish", "-m", "first").exit_code == 0
    path = tmp_path / "客户.xlsx"
    path.write_bytes(
        xlsx(
            [
                ["名称", "电子邮箱", "电话", "备注", "无关列"],
                ["甲公司", "a@x.com", "+86 138-0013-8000", "first", "x"],
                ["乙公司", "not-an-email", "", "", ""],
                ["丙公司", "C@X.com", 13800138001, "", ""],
            ]
        )
    )
    result = crm("import", "file", "customer", str(path), "--key", "email", "--progress")
    assert result.exit_code == 0, result.output
    job = int(re.search(r"import (\d+):", result.output).group(1))
    assert "dry run: 2 created, 0 updated, 0 skipped, 1 failed" in result.output
    assert "row 3, 电子邮箱: " in result.output
    assert f"import {job} done: 2 created, 0 updated, 0 skipped, 1 failed" in result.output
    assert re.search(r"3/3 \(100.0%\), [\d.]+ rows/s, 0.0 s left", result.output), result.output
    status = json.loads(crm("import", "status", str(job)).output)
    assert status["status"] == "done" and status["counts"]["created"] == 2
    errors = crm("import", "errors", str(job)).output.splitlines()
    assert errors[0] == "row,column,status,message" and errors[1].startswith("3,电子邮箱,failed,")
    undone = crm("import", "undo", str(job))
    assert f"import {job} undone: 2 deleted, 0 restored" in undone.output


def test_a_dry_run_writes_nothing(crm_env: dict[str, str], tmp_path: Path) -> None:
    """--dry-run reports and stops; the file may be chosen by encoding."""
    assert crm("import-meta", str(DATA_DIR), "--publish", "-m", "first").exit_code == 0
    path = tmp_path / "c.csv"
    path.write_bytes("名称,电子邮箱\n甲,a@x.com\n".encode("gbk"))
    result = crm("import", "file", "customer", str(path), "--dry-run", "--encoding", "gbk")
    assert result.exit_code == 0, result.output
    assert "(gbk), 1 rows" in result.output and "dry run: 1 created" in result.output
    assert "done" not in result.output
    bad = crm("import", "file", "customer", str(path), "--map", "nope")
    assert bad.exit_code != 0 and "COLUMN=FIELD" in bad.output
