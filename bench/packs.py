"""Benchmark of industry packs: installing with sample data, and upgrading 1.0 -> 1.1.

``run(ctx)`` installs the bundled retail pack (industry_templates/packs/retail) with its sample data
on a new SQLite database, then upgrades it to 1.1: the bundled ``retail`` 1.1 when the pack ships one
as ``packs/retail-1.1``, else a copy of retail with the version raised, one field added to every
entity and every entity label changed. Until retail exists the test pack tinyshop 1.0 -> 1.1 stands
in. The baselines, measured in the same run: publishing the same metadata directly (replace the
draft, publish) on a new database, and publishing the upgraded metadata directly on that site.
Targets: install and upgrade each under 5 s.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from bench.core import Context, Figure, median
from crm_platform.services import CrmServices
from crm_platform.startup import build_services
from industry_templates.installer import BUNDLED_DIR, install_pack
from industry_templates.packfiles import read_pack
from industry_templates.upgrade import upgrade_pack
from metamodel.definitions import Bundle
from metamodel.records.hooks import Actor

TARGET_S = 5.0
ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "industry_templates" / "fixtures"
ACTOR = Actor(None, "bench", True)


def _packs(ctx: Context) -> tuple[str, Path, Path]:
    """Return (label, pack 1.0 folder, pack 1.1 folder)."""
    retail = BUNDLED_DIR / "retail"
    if not (retail / "pack.json").is_file():
        return "tinyshop", FIXTURES / "tinyshop-1.0", FIXTURES / "tinyshop-1.1"
    shipped = BUNDLED_DIR / "retail-1.1"
    if (shipped / "pack.json").is_file():
        return "retail", retail, shipped
    return "retail", retail, _synthetic_next(retail, ctx.workdir / "retail-next")


def _synthetic_next(source: Path, target: Path) -> Path:
    """Copy a pack as its next minor version: a new field in every entity, every entity label changed."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    manifest = json.loads((target / "pack.json").read_text("utf-8"))
    major, minor, _ = (int(p) for p in manifest["version"].split("."))
    manifest["version"] = f"{major}.{minor + 1}.0"
    (target / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    for path in sorted((target / "metadata" / "entity").glob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        doc["fields"].append({"name": "bench_note", "type": "text", "label": {"en": "Note", "zh-CN": "备注"}})
        label = doc.get("label") or {"en": doc["name"], "zh-CN": doc["name"]}
        doc["label"] = {**label, "en": f"{label.get('en', doc['name'])} (1.1)"}
        path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return target


def _services(ctx: Context, name: str) -> CrmServices:
    return build_services(
        {
            "CRM_DATABASE_URL": ctx.db_url(name),
            "CRM_ATTACHMENT_DIR": str(ctx.workdir / "att"),
            "CRM_INSTANCE_DIR": str(ctx.workdir / f"{name}_instance"),  # where a local site keeps its keys
        }
    )


def _timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def run(ctx: Context) -> list[Figure]:
    """Install with sample data and upgrade, three rounds each on new databases; medians."""
    label, v10, v11 = _packs(ctx)
    pack10, problems = read_pack(v10)
    assert pack10 is not None and not problems, problems
    installs, upgrades, publishes, republishes = [], [], [], []
    records = 0
    for round_ in range(3):
        svc = _services(ctx, f"pack_{round_}")
        seconds, report = _timed(lambda svc=svc: install_pack(svc, v10, with_sample_data=True, actor=ACTOR))
        installs.append(seconds)
        records = report.records
        installed = svc.metadata.model().bundle
        seconds, _ = _timed(lambda svc=svc: upgrade_pack(svc, v11, actor=ACTOR))
        upgrades.append(seconds)
        upgraded = svc.metadata.model().bundle
        svc.engine.dispose()
        # Baselines: the same metadata published directly, without the pack engine or sample data.
        base = _services(ctx, f"publish_{round_}")
        publishes.append(_timed(lambda base=base, bundle=installed: _publish(base, bundle))[0])
        republishes.append(_timed(lambda base=base, bundle=upgraded: _publish(base, bundle))[0])
        base.engine.dispose()
    install_s, upgrade_s = median(installs), median(upgrades)
    publish_s, republish_s = median(publishes), median(republishes)
    return [
        Figure(f"packs.install_{label}_with_{records}_sample_records", round(install_s, 3), "s", TARGET_S),
        Figure(f"packs.upgrade_{label}_1.0_to_1.1", round(upgrade_s, 3), "s", TARGET_S),
        Figure("packs.baseline_publish_same_metadata", round(publish_s, 3), "s"),
        Figure("packs.install_vs_publish_ratio", round(install_s / publish_s, 2), "x"),
        Figure("packs.upgrade_vs_publish_ratio", round(upgrade_s / republish_s, 2), "x"),
    ]


def _publish(svc: CrmServices, bundle: Bundle) -> None:
    svc.metadata.replace_draft(Bundle.from_json(bundle.to_json()), "bench")
    svc.metadata.publish("bench", "baseline")
