"""Benchmark of installing each bundled industry pack with its sample data on an empty site.

``run(ctx)`` builds the platform's services on a new SQLite file (system tables migrated, nothing
published) and times ``install_pack(..., with_sample_data=True)``: validation, one metadata publish
with its tables, roles, demo org and users, and every sample record through the record runtime with
its rules firing.  The median of a few fresh installs is compared with the 5-second target.
"""

from __future__ import annotations

import time

from bench.core import Context, Figure, median
from crm_platform.startup import build_services
from industry_templates.installer import bundled_packs, install_pack

INSTALL_TARGET_S = 5.0


def _install_seconds(ctx: Context, pack: str, run: int) -> float:
    name = f"pack_{pack}_{run}"
    services = build_services(
        {
            "CRM_DATABASE_URL": ctx.db_url(name),
            "CRM_ATTACHMENT_DIR": str(ctx.workdir / f"{name}_files"),
            "CRM_INSTANCE_DIR": str(ctx.workdir / f"{name}_instance"),  # where a local site keeps its keys
        }
    )
    try:
        started = time.perf_counter()
        install_pack(services, pack, with_sample_data=True)
        return time.perf_counter() - started
    finally:
        services.engine.dispose()


def run(ctx: Context) -> list[Figure]:
    """Time a fresh install with sample data of every bundled pack."""
    runs = 1 if ctx.quick else 3
    return [
        Figure(
            f"pack_install.{pack}_with_sample_data",
            round(median([_install_seconds(ctx, pack, n) for n in range(runs)]), 3),
            "s",
            INSTALL_TARGET_S,
        )
        for pack in bundled_packs()
    ]
