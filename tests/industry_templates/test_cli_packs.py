"""``crm pack validate|install|upgrade|uninstall|export|list`` on a test database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crm_platform.cli import cli
from tests.industry_templates.packsupport import copy_pack, edit_json, fixture_pack

V10, V11 = str(fixture_pack("tinyshop-1.0")), str(fixture_pack("tinyshop-1.1"))
Crm = Callable[..., Result]


@pytest.fixture
def crm(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Crm:
    """Return ``crm(*args)``: one command in-process on the test database."""
    for key, value in {
        "CRM_DATABASE_URL": db_url,
        "CRM_INSTANCE_DIR": str(tmp_path / "instance"),
        "CRM_SECRET_KEY": "test-secret",
        "CRM_SCHEDULER": "off",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CRM_DEMO_PASSWORD", raising=False)

    def run(*args: str, input: str | None = None) -> Result:
        result = CliRunner().invoke(cli, list(args), input=input)
        assert not result.exception or isinstance(result.exception, SystemExit), result.output
        return result

    return run


def test_validate_install_upgrade_list_uninstall(crm: Crm) -> None:
    assert crm("pack", "validate", V10).output.strip().endswith("valid")
    result = crm("pack", "install", V10, "--with-sample-data", "--demo-password", "demo-pass-123")
    assert result.exit_code == 0, result.output
    assert "Installed pack tinyshop 1.0.0 as metadata version 1." in result.output
    assert "3 org unit(s), 2 user(s), 6 record(s)" in result.output
    preview = crm("pack", "upgrade", V11, "--dry-run")
    assert preview.exit_code == 0 and "Would upgrade pack tinyshop 1.0.0 -> 1.1.0" in preview.output
    result = crm("pack", "upgrade", V11)
    assert result.exit_code == 0 and "Conflicts (the site's value is kept): none" in result.output
    assert "tinyshop 1.1.0: coupon, member, store, visit, visit_line" in crm("pack", "list").output
    refused = crm("pack", "uninstall", "tinyshop", "--purge", input="n\n")
    assert refused.exit_code == 1 and "tinyshop 1.1.0" in crm("pack", "list").output
    result = crm("pack", "uninstall", "tinyshop")
    assert result.exit_code == 0 and "records kept" in result.output
    assert "(uninstalled, records kept)" in crm("pack", "list").output


def test_errors_are_one_line_each_never_a_traceback(crm: Crm, tmp_path: Path) -> None:
    broken = copy_pack(Path(V10), tmp_path / "broken")
    edit_json(broken / "roles" / "clerk.json", lambda r: r["permissions"][0].update(scope="galaxy"))
    result = crm("pack", "install", str(broken))
    assert result.exit_code == 1
    assert "roles/clerk.json.permissions[0].scope:" in result.output and "Traceback" not in result.output
    result = crm("pack", "validate", str(broken))
    assert result.exit_code == 1 and "roles/clerk.json.permissions[0].scope" in result.output
    assert crm("pack", "install", "no_such_pack").exit_code == 1
    assert "not installed" in crm("pack", "upgrade", V11).output
    assert crm("pack", "install", V10, "--with-sample-data", "--demo-password", "short").exit_code == 1


def test_export_writes_a_pack_that_validates(crm: Crm, tmp_path: Path) -> None:
    crm("pack", "install", V10)
    result = crm("pack", "export", str(tmp_path / "out"), "--name", "my_shop", "--label-zh", "我的店")
    assert result.exit_code == 0, result.output
    assert (
        crm("pack", "validate", str(tmp_path / "out")).exit_code == 1
    )  # its entities are on this site already
    assert (tmp_path / "out" / "metadata" / "entity" / "member.json").is_file()
