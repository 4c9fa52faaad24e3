"""Run the benchmarks and write bench/results.json.

    python bench/run.py [--quick] [--only NAME ...]

Default size is 1,000,000 records; --quick uses 100,000 (small enough for CI).  Every figure is an
entry ``{"name", "value", "unit", "target", "ok"}`` of the JSON list in bench/results.json, and the
run prints them as a table.  Databases are temporary SQLite files, deleted afterwards.

To add a benchmark, write ``run(ctx: Context) -> list[Figure]`` in a module of bench/ and add one
entry to BENCHMARKS below.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script (python bench/run.py, make bench): make the repo root importable.  The root's
# platform/ folder has no __init__.py, so it does not shadow the standard library's platform module.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

from bench.core import Benchmark, Context, format_table  # noqa: E402

FULL_RECORDS = 1_000_000
QUICK_RECORDS = 100_000
RESULTS = ROOT / "bench" / "results.json"

# The one list of benchmarks, run in this order.
BENCHMARKS: list[Benchmark] = [
    Benchmark(
        "api_edge",
        "bench.api_edge:run",
        "GET one record and a 50-row list through the REST API vs a bare Flask + SQLAlchemy endpoint",
    ),
    Benchmark(
        "records_list",
        "bench.records_list:run",
        "RecordRuntime.list on N records: first page and deep keyset page (status filter, -created_at)",
    ),
    Benchmark(
        "records_crud",
        "bench.records_crud:run",
        "create/read/update through RecordRuntime vs a hand-written SQLAlchemy ORM model",
    ),
    Benchmark(
        "expressions",
        "bench.expressions:run",
        "a validation rule compiled once vs py-expression-eval parse-and-evaluate per call vs hand-written Python",
    ),
    Benchmark(
        "access_list",
        "bench.access_list:run",
        "a 50-row list for a store-scoped user vs an administrator on N records",
    ),
    Benchmark(
        "packs",
        "bench.packs:run",
        "installing the retail pack with sample data and upgrading it 1.0 -> 1.1, vs publishing the same metadata",
    ),
    Benchmark(
        "scheduler",
        "bench.scheduler:run",
        "time-trigger due-set query over N records with 1% due, and firing a sample",
    ),
    Benchmark(
        "scheduler_drain",
        "bench.scheduler_drain:run",
        "draining 20,000 due firings on PostgreSQL with one scheduler process vs two at once",
    ),
    Benchmark(
        "pool_return",
        "bench.pool_return:run",
        "the lead pool's auto-return sweep over N owned records with 1% stale vs a bare UPDATE",
    ),
    Benchmark(
        "reports",
        "bench.reports:run",
        "a two-dimension report (status x month) through the runtime vs the bare SQL it issues",
    ),
    Benchmark(
        "dashboard",
        "bench.dashboard:run",
        "a 6-widget dashboard (page and widget fragments) rendered server-side vs the bare data queries it issues",
    ),
    Benchmark(
        "imports",
        "bench.imports:run",
        "importing 100,000 CSV rows through the record runtime (trigger on) vs a bulk INSERT of the same rows",
    ),
    Benchmark(
        "list_page",
        "bench.list_page:run",
        "the workspace list page's first page on N records vs replaying the bare SQL it issues",
    ),
    Benchmark(
        "export_xlsx",
        "bench.export_xlsx:run",
        "XLSX export of 100,000 list rows: peak memory against 10,000 rows (constant memory) and rows/s",
    ),
    Benchmark(
        "view_pages",
        "bench.view_pages:run",
        "the list page and the kanban board page on N records vs the bare SQL each issues",
    ),
    Benchmark(
        "global_search",
        "bench.global_search:run",
        "global search (common and rare text) on N records through the runtime vs the bare SQL it issues",
    ),
    Benchmark(
        "derived_write",
        "bench.derived_write:run",
        "a child write moving its parent's roll-up, with the parent's update trigger vs without one",
    ),
    Benchmark(
        "derived_backfill",
        "bench.derived_backfill:run",
        "the backfill of a new formula over N existing records (set-based SQL), in records/s",
    ),
    Benchmark(
        "pack_install",
        "bench.pack_install:run",
        "installing each bundled industry pack with its sample data on an empty site",
    ),
]


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; returns the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"use {QUICK_RECORDS:,} records instead of {FULL_RECORDS:,}"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=[b.name for b in BENCHMARKS],
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument("--records", type=int, help="override the number of records (for trying things out)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a figure misses its target"
    )
    args = parser.parse_args(argv)

    records = args.records or (QUICK_RECORDS if args.quick else FULL_RECORDS)
    selected = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    results: list[dict[str, object]] = []
    failed: list[str] = []
    print(f"benchmarks: {', '.join(b.name for b in selected)}; {records:,} records", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        ctx = Context(records=records, quick=args.quick, workdir=Path(folder))
        for bench in selected:
            print(f"-- {bench.name}: {bench.description}", flush=True)
            started = time.perf_counter()
            try:
                figures = bench.load()(ctx)
            except Exception:  # one broken benchmark must not hide the others' figures
                traceback.print_exc()
                failed.append(bench.name)
                results.append(
                    {"name": f"{bench.name}.error", "value": None, "unit": "", "target": None, "ok": False}
                )
                continue
            for figure in figures:
                results.append(figure.as_dict())
                print(f"   {figure.name} = {figure.value:g} {figure.unit}", flush=True)
            print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)

    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(format_table([r for r in results if r["value"] is not None]))
    print(f"\nwrote {args.output}")
    missed = [r["name"] for r in results if not r["ok"]]
    if failed:
        print(f"benchmark errors: {', '.join(failed)}", file=sys.stderr)
        return 2
    if missed:
        print(f"missed targets: {', '.join(map(str, missed))}", file=sys.stderr)
        return 1 if args.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
