"""Benchmark of installing the bundled industry packs with their sample data on an empty database.

``run(ctx)`` installs each bundled pack alone, then all of them together, each on a fresh SQLite file
(migrated, no metadata yet), and reports the median wall time of ``install_pack(...,
with_sample_data=True)``: one metadata version published, roles, the demo org and users, and every
sample record created through the record runtime with its rules and triggers firing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bench.core import Context, Figure, median, quiet_gc
from crm_platform.startup import build_services
from industry_templates.installer import bundled_packs, install_pack

INSTALL_TARGET_S = 5.0
RUNS = 3


def _install_seconds(ctx: Context, label: str, packs: Sequence[str], run: int) -> float:
    db = ctx.db_url(f"pack_{label}_{run}")
    services = build_services({"CRM_DATABASE_URL": db, "CRM_ATTACHMENT_DIR": str(ctx.workdir / "att")})
    try:
        with quiet_gc():
            started = time.perf_counter()
            for name in packs:
                install_pack(services, name, with_sample_data=True, password_hash="bench")
            return time.perf_counter() - started
    finally:
        services.engine.dispose()


def run(ctx: Context) -> list[Figure]:
    """Time installing each bundled pack with sample data, and all of them on one site."""
    names = bundled_packs()
    sets = [(name, [name]) for name in names]
    if len(names) > 1:
        sets.append(("all", names))
    figures = []
    for label, packs in sets:
        seconds = median([_install_seconds(ctx, label, packs, n) for n in range(RUNS)])
        target = INSTALL_TARGET_S * len(packs)
        figures.append(Figure(f"install {label} with sample data", round(seconds, 3), "s", target))
    return figures
