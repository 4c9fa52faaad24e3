"""``crm settings``: show the site settings, print and set the site's time zone (audited), refuse unknown zones."""

from __future__ import annotations

from click.testing import CliRunner, Result
from sqlalchemy import select

from crm_platform.auth.users import create_user
from crm_platform.cli import cli
from crm_platform.services import CrmServices
from metamodel.systables import audit_log


def crm(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert not result.exception or isinstance(result.exception, SystemExit), result.output
    return result


def test_time_zone_is_printed_set_and_reset_with_an_audit_entry(
    crm_env: dict[str, str], svc: CrmServices
) -> None:
    create_user(svc.engine, "root", "ann-amber-kettle-42", is_admin=True)
    assert crm("settings", "time-zone").output == "time zone: UTC (default for language en)\n"
    result = crm("settings", "time-zone", "Asia/Shanghai", "--user", "root")
    assert result.exit_code == 0 and result.output == "time zone: Asia/Shanghai (set)\n"
    assert svc.metadata.model().time_zone.key == "Asia/Shanghai"
    shown = crm("settings", "show").output
    assert "language: en" in shown and "time zone: Asia/Shanghai (set)" in shown
    assert crm("settings", "time-zone", "--default").output == "time zone: UTC (default for language en)\n"
    with svc.engine.connect() as conn:
        entries = (
            conn.execute(select(audit_log).where(audit_log.c.action == "settings.change")).mappings().all()
        )
    assert [(e["actor_name"], e["origin"], e["changes"]) for e in entries] == [
        ("root", "cli", {"time_zone": ["UTC", "Asia/Shanghai"]}),
        ("cli", "cli", {"time_zone": ["Asia/Shanghai", "UTC"]}),
    ]


def test_an_unknown_zone_is_refused_with_a_clear_message(crm_env: dict[str, str], svc: CrmServices) -> None:
    result = crm("settings", "time-zone", "Asia/Shangai")
    assert result.exit_code == 1
    assert "unknown time zone 'Asia/Shangai'" in result.output and "Traceback" not in result.output
    assert crm("settings", "time-zone").output.startswith("time zone: UTC")
    both = crm("settings", "time-zone", "UTC", "--default")
    assert both.exit_code == 2 and "not both" in both.output


def test_the_zone_list(crm_env: dict[str, str]) -> None:
    names = crm("settings", "time-zone", "--list").output.split()
    assert "Asia/Shanghai" in names and "Europe/Berlin" in names and names == sorted(names)
