"""Finding plugins (bundled, entry points, CRM_ACTION_PLUGINS modules), the enable list, and isolating failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from crm_platform.app import create_app
from crm_platform.cli import cli
from crm_platform.services import CrmServices
from plugins.loader import discover, installed_plugins
from tests.platform.api.apisupport import Api
from tests.plugins.conftest import app_config
from tests.plugins.pluginsupport import BROKEN, SAMPLE, install_distribution


def _statuses(svc: CrmServices) -> dict[str, dict[str, Any]]:
    return {status.name: status.as_dict() for status in svc.plugins.statuses}


def test_bundled_and_entry_point_plugins_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {c.name for c in discover({})}
    assert "birthday" in before and "sample" not in before
    install_distribution(tmp_path, monkeypatch, SAMPLE)
    found = {c.name: c for c in discover({})}
    assert found["birthday"].source == "bundled"
    assert found["sample"].source == "entry point" and found["sample"].version == "2.1.0"
    installed = installed_plugins({})
    assert installed["birthday"] == "1.0.0" and installed["sample"] == "2.1.0"
    assert installed_plugins({"CRM_PLUGINS": "sample"}) == {"sample": "2.1.0"}


def test_failing_plugins_are_skipped_and_listed(
    plugin_app: Flask, plugin_svc: CrmServices, admin: Api
) -> None:
    statuses = _statuses(plugin_svc)
    assert statuses["sample"]["status"] == "active" and statuses["birthday"]["status"] == "active"
    assert statuses["broken"]["status"] == "failed"
    assert "RuntimeError: the broken plugin cannot start" in statuses["broken"]["error"]
    assert statuses["bogus"]["status"] == "failed" and "not a plugin" in statuses["bogus"]["error"]
    assert (
        statuses["missing_module"]["status"] == "failed"
        and "ModuleNotFoundError" in statuses["missing_module"]["error"]
    )
    assert statuses["clash"]["status"] == "failed" and "function 'upper'" in statuses["clash"]["error"]
    functions = plugin_svc.rules.functions
    # Nothing a failed plugin staged was applied, not even what it staged before failing.
    assert functions.get("half_done") is None and functions.get("clash_ok") is None
    assert functions.get("upper") is not None and functions.get("upper").params == ("string",)
    assert functions.get("shout") is not None and functions.get("age") is not None
    listed = admin.ok("GET", "/plugins")["plugins"]
    assert {p["name"]: p["status"] for p in listed} == {name: s["status"] for name, s in statuses.items()}
    assert next(p for p in listed if p["name"] == "sample")["version"] == "2.1.0"


def test_plugin_listing_is_for_administrators(user: Api, plugin_app: Flask) -> None:
    assert user.call("GET", "/plugins").status_code == 403
    assert Api(plugin_app.test_client(), None).call("GET", "/plugins").status_code == 401


def test_enable_list_and_older_action_modules(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_distribution(tmp_path / "site", monkeypatch, {**SAMPLE, **BROKEN})
    config = app_config(
        db_url,
        tmp_path,
        CRM_PLUGINS="birthday,tests.plugins.legacy_actions,nowhere",
        CRM_ACTION_PLUGINS="tests.plugins.legacy_actions",
    )
    app = create_app(config)
    try:
        svc: CrmServices = app.extensions["crm"]
        statuses = _statuses(svc)
        assert statuses["birthday"]["status"] == "active"
        assert statuses["sample"]["status"] == "disabled" and statuses["broken"]["status"] == "disabled"
        assert statuses["tests.plugins.legacy_actions"] == {
            **statuses["tests.plugins.legacy_actions"],
            "status": "active",
            "source": "module",
        }
        assert statuses["nowhere"]["status"] == "missing"
        assert "wave" in svc.rules.actions and svc.rules.functions.get("shout") is None
        assert "color" not in svc.field_types
    finally:
        app.extensions["crm"].engine.dispose()


def test_crm_plugins_command(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_distribution(tmp_path / "site", monkeypatch, {**SAMPLE, "broken": BROKEN["broken"]})
    for key, value in app_config(db_url, tmp_path).items():
        if isinstance(value, str):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("CRM_SECRET_KEY", "test")
    monkeypatch.delenv("CRM_PLUGINS", raising=False)
    monkeypatch.delenv("CRM_ACTION_PLUGINS", raising=False)
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert lines["sample"].split()[1:4] == ["2.1.0", "entry", "point"] and "active" in lines["sample"]
    assert "failed" in lines["broken"] and "the broken plugin cannot start" in lines["broken"]
    assert "birthday" in lines
