"""XLSX export of 100,000 list rows in constant memory: peak RSS against a 10,000-row export, and speed.

Each export runs in a fresh Python process that opens the app on the prepared database and streams the
rows exactly as the list's export does (``crm_platform.listing.export``: keyset pages of the runtime's
list, each field's presentation text, openpyxl's write-only workbook into a temporary file). The child
reports its peak resident set size (``ru_maxrss``) before and after the export. Constant memory means
the 100,000-row export peaks about where the 10,000-row one does; the figure is that ratio.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.core import Context, Figure
from bench.records_setup import BUNDLE, ENTITY, Site, bulk_load, load_accounts
from crm_platform.app import create_app
from crm_platform.listing.export import ExportColumn, record_pages, text_rows, xlsx_file
from crm_platform.services import CrmServices
from form_renderer.presentation import DisplayContext
from metamodel.definitions import Bundle
from metamodel.records.hooks import Actor
from metamodel.records.query import Filter, ListQuery

ROWS = 100_000
SMALL = 10_000
TARGET_GROWTH = 1.25  # the 100,000-row peak may be at most 25% above the 10,000-row one
ROOT = Path(__file__).resolve().parent.parent


def _config(url: str, workdir: Path) -> dict[str, str]:
    return {
        "CRM_DATABASE_URL": url,
        "CRM_INSTANCE_DIR": str(workdir / "instance-export"),
        "CRM_ATTACHMENT_DIR": str(workdir / "attachments-export"),
        "SECRET_KEY": "bench",
        "CRM_SCHEDULER": "off",
        "CRM_ENCRYPTION": "off",
    }


def run(ctx: Context) -> list[Figure]:
    """Prepare 100,000 records, then export 10,000 and 100,000 of them in child processes."""
    url = ctx.db_url("export_xlsx")
    app = create_app(_config(url, ctx.workdir))
    svc: CrmServices = app.extensions["crm"]
    svc.metadata.replace_draft(Bundle.from_json(BUNDLE), "bench")
    svc.metadata.publish("bench", "export benchmark")
    site = Site(svc.engine, svc.metadata, svc.field_types)
    bulk_load(site, ROWS, load_accounts(site))
    svc.engine.dispose()
    small, large = _child(url, ctx.workdir, SMALL), _child(url, ctx.workdir, ROWS)
    return [
        Figure("export_xlsx.rows", large["rows"], "rows"),
        Figure("export_xlsx.peak_rss_10k", small["peak_kb"] / 1024, "MB"),
        Figure("export_xlsx.peak_rss_100k", large["peak_kb"] / 1024, "MB"),
        Figure("export_xlsx.growth_during_100k", (large["peak_kb"] - large["before_kb"]) / 1024, "MB"),
        Figure(
            "export_xlsx.peak_ratio_100k_vs_10k",
            large["peak_kb"] / small["peak_kb"],
            "x",
            TARGET_GROWTH,
            "<=",
        ),
        Figure("export_xlsx.rows_per_s", large["rows"] / large["seconds"], "rows/s"),
        Figure("export_xlsx.file_size", large["bytes"] / 1024 / 1024, "MB"),
    ]


def _child(url: str, workdir: Path, rows: int) -> dict[str, float]:
    code = f"from bench.export_xlsx import child; child({url!r}, {str(workdir)!r}, {rows})"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False, timeout=1800
    )
    if done.returncode != 0:
        raise RuntimeError(f"export child failed: {done.stderr[-2000:]}")
    answer: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def child(url: str, workdir: str, rows: int) -> None:
    """Export the first ``rows`` records as XLSX the way the list page does; print peak RSS and timing."""
    app = create_app(_config(url, Path(workdir)))
    svc: CrmServices = app.extensions["crm"]
    runtime = svc.runtime()
    model = runtime.model.entity(ENTITY)
    columns = [ExportColumn(f.label("en"), f) for f in model.column_fields()]
    who = Actor(None, "bench", is_admin=True)
    query = ListQuery(filters=[Filter("id", "lte", rows)], sort="-id")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    written = 0

    def counted() -> Iterator[list[str]]:
        nonlocal written
        for row in text_rows(
            record_pages(runtime, ENTITY, query, who), columns, svc.presentations, DisplayContext()
        ):
            written += 1
            yield row

    out = xlsx_file([c.label for c in columns], counted(), "Export")
    seconds = time.perf_counter() - started
    size = out.seek(0, 2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps({"rows": written, "before_kb": before, "peak_kb": peak, "seconds": seconds, "bytes": size})
    )
