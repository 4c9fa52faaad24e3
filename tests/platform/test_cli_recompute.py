"""``crm recompute ENTITY [FIELD...]``: recompute derived fields of existing records, with progress; bad names refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import update

from crm_platform.cli import cli
from crm_platform.services import CrmServices
from rule_engine.testing.world import entity


def crm(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert not result.exception or isinstance(result.exception, SystemExit), result.output
    return result


def write_metadata(folder: Path) -> None:
    docs = {
        "member": entity(
            "member",
            [
                {"name": "name", "type": "text"},
                {
                    "name": "spent",
                    "type": "currency",
                    "rules": {"rollup": {"source": "purchase.member", "kind": "sum", "field": "amount"}},
                },
                {"name": "double", "type": "currency", "rules": {"formula": "spent * 2"}},
            ],
        ),
        "purchase": entity(
            "purchase",
            [
                {"name": "member", "type": "link", "target": "member", "on_delete": "cascade"},
                {"name": "amount", "type": "currency"},
            ],
        ),
    }
    (folder / "entity").mkdir(parents=True)
    for name, doc in docs.items():
        (folder / "entity" / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")


def test_recompute_repairs_stale_values_with_progress(crm_env: dict[str, str], tmp_path: Path) -> None:
    write_metadata(tmp_path / "meta")
    published = crm("import-meta", str(tmp_path / "meta"), "--publish", "-m", "first")
    assert published.exit_code == 0, published.output
    from crm_platform.app import create_app

    app = create_app()
    svc: CrmServices = app.extensions["crm"]
    rt = svc.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    for amount in ("10.00", "5.50"):
        rt.create("purchase", {"member": ann, "amount": amount})
    table = svc.metadata.model().entity("member").table
    with svc.engine.begin() as conn:  # values gone stale, e.g. restored from an old backup
        conn.execute(update(table).values(spent=None, double=None))
    svc.engine.dispose()
    result = crm("recompute", "member", "spent")
    assert result.exit_code == 0, result.output
    assert re.search(r"recompute \d+: member spent, double, 1 records", result.output), result.output
    assert re.search(r"1/1, [\d,]+ records/s", result.output), result.output
    assert "done: 1 records" in result.output
    app = create_app()
    got = app.extensions["crm"].runtime().get("member", ann)
    assert (got["spent"], got["double"]) == ("15.50", "31.00")
    app.extensions["crm"].engine.dispose()
    refused = CliRunner().invoke(cli, ["recompute", "member", "name"])
    assert refused.exit_code == 1 and "member has no formula or roll-up field name" in refused.output
    missing = CliRunner().invoke(cli, ["recompute", "nothing"])
    assert missing.exit_code == 1 and "no entity 'nothing'" in missing.output
