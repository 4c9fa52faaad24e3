"""The ``crm`` command line: database set-up, metadata files, publishing, versions, users and tokens."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from crm_platform.auth.users import authenticate, user_for_token
from crm_platform.cli import cli
from crm_platform.demo import DATA_DIR
from crm_platform.services import CrmServices

ROOT = Path(__file__).resolve().parents[2]
CRM_SCRIPT = Path(sys.executable).parent / "crm"

Crm = Callable[..., Result]


@pytest.fixture
def crm(crm_env: dict[str, str]) -> Crm:
    """Return ``crm(*args, input=None)``: run one command in-process on the test database."""

    def run(*args: str, input: str | None = None) -> Result:
        result = CliRunner().invoke(cli, list(args), input=input)
        assert not result.exception or isinstance(result.exception, SystemExit), result.output
        return result

    return run


@pytest.fixture
def published(crm: Crm) -> Crm:
    """``crm`` on a database where the demo metadata pack is imported and published as version 1."""
    result = crm("import-meta", str(DATA_DIR), "--publish", "-m", "first")
    assert result.exit_code == 0, result.output
    assert "Published version 1." in result.output
    return crm


def tables(db_url: str) -> set[str]:
    """Return the table names of the test database."""
    engine = sa.create_engine(db_url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def label_of(svc: CrmServices, version: int, field: str) -> dict[str, str]:
    """Return the label of a customer field in one published version."""
    entity = svc.metadata.bundle_of(version).entity("customer")
    assert entity is not None
    definition = entity.field(field)
    assert definition is not None
    return dict(definition.get("label"))


def test_init_db_creates_the_system_tables(crm: Crm, db_url: str) -> None:
    """init-db migrates an empty database and says which revision it is at."""
    result = crm("init-db")
    assert result.exit_code == 0, result.output
    assert "System tables at revision" in result.output
    assert {"sys_user", "sys_meta_version", "sys_meta_draft"} <= tables(db_url)
    assert crm("init-db").exit_code == 0  # running it again is harmless


def test_create_user_and_duplicate_refused(crm: Crm, svc: CrmServices) -> None:
    """create-user stores a working account; the same name again fails with a message and status 1."""
    result = crm("create-user", "alice", "--password", "secret-lantern-41", "--admin", "--locale", "zh-CN")
    assert result.exit_code == 0, result.output
    user = authenticate(svc.engine, "alice", "secret-lantern-41")
    assert user is not None and user.is_admin and user.locale == "zh-CN"

    again = crm("create-user", "alice", "--password", "other-pw-22")
    assert again.exit_code == 1
    assert "user 'alice' already exists" in again.output
    assert "Traceback" not in again.output
    assert authenticate(svc.engine, "alice", "secret-lantern-41") is not None


def test_create_user_asks_for_the_password_twice(crm: Crm, svc: CrmServices) -> None:
    """Without --password the password is prompted for and confirmed."""
    result = crm("create-user", "bob", input="typed-pw-1\ntyped-pw-1\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") >= 1 and "Repeat for confirmation" in result.output
    bob = authenticate(svc.engine, "bob", "typed-pw-1")
    assert bob is not None and not bob.is_admin


def test_create_user_with_short_password_names_the_problem(crm: Crm) -> None:
    """Validation problems are printed as ``path: message``."""
    result = crm("create-user", "carol", "--password", "short")
    assert result.exit_code == 1
    assert "password: must be at least 10 characters" in result.output


def test_set_password(crm: Crm, svc: CrmServices) -> None:
    """set-password replaces the password; an unknown user is an error."""
    assert crm("create-user", "dora", "--password", "first-lantern-41").exit_code == 0
    assert crm("set-password", "dora", "--password", "second-harbor-52").exit_code == 0
    assert authenticate(svc.engine, "dora", "second-harbor-52") is not None
    assert authenticate(svc.engine, "dora", "first-lantern-41") is None
    missing = crm("set-password", "nobody", "--password", "whatever-harbor-7")
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.output


def test_create_token_prints_a_token_that_authenticates(crm: Crm, svc: CrmServices) -> None:
    """The printed token (stdout, alone) belongs to the user; the note goes to stderr."""
    assert crm("create-user", "erin", "--password", "token-pw-1").exit_code == 0
    result = crm("create-token", "erin", "--name", "ci", "--days", "7")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("crm_") and "\n" not in token
    assert "shown only once" in result.stderr
    user = user_for_token(svc.engine, token)
    assert user is not None and user.username == "erin"
    assert user_for_token(svc.engine, token + "x") is None
    assert crm("create-token", "nobody").exit_code == 1


def test_export_import_round_trip(published: Crm, svc: CrmServices, tmp_path: Path) -> None:
    """Export, change a label in the JSON file, import, publish: the new version has the label."""
    out = tmp_path / "meta"
    result = published("export-meta", str(out))
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["source"] == "version" and manifest["version"] == 1
    assert manifest["documents"]["entity"] == ["customer", "order_line", "product", "sales_order"]
    path = out / "entity" / "customer.json"
    text = path.read_text("utf-8")
    assert text.endswith("\n") and '"zh-CN": "客户"' in text  # pretty-printed, UTF-8 (not \\u escapes)

    doc = json.loads(text)
    tier = next(f for f in doc["fields"] if f["name"] == "tier")
    tier["label"] = {"en": "Customer tier", "zh-CN": "客户级别"}
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")

    imported = published("import-meta", str(out))
    assert imported.exit_code == 0, imported.output
    assert "customer.tier.label" in imported.output
    result = published("publish", "-m", "relabel tier", "--user", "admin")
    assert result.exit_code == 0, result.output
    assert "Published version 2." in result.output
    assert label_of(svc, 2, "tier") == {"en": "Customer tier", "zh-CN": "客户级别"}
    assert label_of(svc, 1, "tier")["en"] == "Tier"
    assert svc.metadata.versions()[0].created_by == "admin"
    # Field ids travel through the files, so the relabelled field is the same column.
    assert svc.metadata.bundle_of(1).entity("customer").field("tier").id == tier["id"]


def test_export_is_stable(published: Crm, tmp_path: Path) -> None:
    """Exporting twice gives the same document files; a re-export removes files of deleted documents."""
    first, second = tmp_path / "a", tmp_path / "b"
    assert published("export-meta", str(first)).exit_code == 0
    assert published("export-meta", str(second), "--version", "1").exit_code == 0
    for path in (first / "entity").glob("*.json"):
        assert path.read_bytes() == (second / "entity" / path.name).read_bytes()
    (first / "form" / "old_form.json").write_text("{}", "utf-8")
    result = published("export-meta", str(first))
    assert "removed stale" in result.output and not (first / "form" / "old_form.json").exists()


def test_export_refuses_a_folder_that_is_not_an_export(published: Crm, tmp_path: Path) -> None:
    """Files of an unrelated folder are never overwritten or deleted."""
    (tmp_path / "notes.txt").write_text("keep me", "utf-8")
    result = published("export-meta", str(tmp_path))
    assert result.exit_code == 1 and "not a previous export" in result.output
    assert (tmp_path / "notes.txt").read_text("utf-8") == "keep me"


def test_export_draft_before_anything_is_published(crm: Crm, tmp_path: Path) -> None:
    """With nothing published, export-meta asks for --draft; --draft exports the draft."""
    assert crm("import-meta", str(DATA_DIR)).exit_code == 0
    result = crm("export-meta", str(tmp_path / "x"))
    assert result.exit_code == 1 and "--draft" in result.output
    assert crm("export-meta", str(tmp_path / "d"), "--draft").exit_code == 0
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text("utf-8"))
    assert manifest["source"] == "draft" and manifest["active_version"] is None
    assert (tmp_path / "d" / "form" / "customer.json").exists()


def test_import_of_broken_json_names_the_file(published: Crm, svc: CrmServices, tmp_path: Path) -> None:
    """A syntax error stops the import with the file, line and column; the draft is unchanged."""
    out = tmp_path / "meta"
    assert published("export-meta", str(out)).exit_code == 0
    broken = out / "entity" / "product.json"
    broken.write_text('{"name": "product",\n  "fields": [\n', "utf-8")
    before = svc.metadata.draft()
    result = published("import-meta", str(out))
    assert result.exit_code == 1
    assert str(broken) in result.output and "invalid JSON at line 3" in result.output
    assert "Traceback" not in result.output
    assert svc.metadata.draft() == before


def test_import_rejects_a_name_that_differs_from_the_file(crm: Crm, tmp_path: Path) -> None:
    """The document name must equal the file name, which is its key."""
    shutil.copytree(DATA_DIR / "entity", tmp_path / "entity")
    (tmp_path / "entity" / "product.json").rename(tmp_path / "entity" / "item.json")
    result = crm("import-meta", str(tmp_path))
    assert result.exit_code == 1
    assert "item.json: the document is named 'product'" in result.output


def test_publish_of_an_invalid_draft_prints_problem_paths(
    published: Crm, svc: CrmServices, tmp_path: Path
) -> None:
    """Each problem is printed as ``path: message``, the status is 1 and no version is added."""
    out = tmp_path / "meta"
    assert published("export-meta", str(out)).exit_code == 0
    path = out / "entity" / "customer.json"
    doc = json.loads(path.read_text("utf-8"))
    doc["fields"][1]["type"] = "telephone"
    doc["title_field"] = "missing"
    path.write_text(json.dumps(doc), "utf-8")
    assert published("import-meta", str(out)).exit_code == 0  # the shape is fine; validation runs at publish

    result = published("publish", "-m", "broken")
    assert result.exit_code == 1
    assert "nothing was published" in result.output
    assert "entity.customer.fields[1].type: unknown field type 'telephone'" in result.output
    assert "entity.customer.title_field: title field 'missing'" in result.output
    assert [v.number for v in svc.metadata.versions()] == [1]


def test_publish_without_changes_publishes_nothing(published: Crm, svc: CrmServices) -> None:
    """An unchanged draft does not create an empty version."""
    result = published("publish")
    assert result.exit_code == 0 and "Nothing to publish" in result.output
    assert svc.metadata.active_version() == 1


def test_versions_and_rollback(published: Crm, svc: CrmServices, tmp_path: Path) -> None:
    """versions lists every version with the active one marked; rollback publishes an old one again."""
    out = tmp_path / "meta"
    assert published("export-meta", str(out)).exit_code == 0
    path = out / "entity" / "customer.json"
    doc = json.loads(path.read_text("utf-8"))
    doc["label"]["en"] = "Client"
    path.write_text(json.dumps(doc), "utf-8")
    assert published("import-meta", str(out), "--publish", "-m", "say client").exit_code == 0

    listing = published("versions")
    assert listing.exit_code == 0
    rows = listing.output.splitlines()[1:]
    assert rows[0].startswith("*") and "say client" in rows[0] and " 2 " in rows[0]
    assert "first" in rows[1] and not rows[1].startswith("*")

    result = published("rollback", "1", "-m", "back to Customer")
    assert result.exit_code == 0, result.output
    assert "Published version 3 (rollback" in result.output
    assert svc.metadata.active_version() == 3
    assert svc.metadata.bundle_of(3).entity("customer").label() == "Customer"
    assert svc.metadata.draft().entity("customer").label() == "Customer"
    assert "rollback 1" in published("versions").output

    missing = published("rollback", "42")
    assert missing.exit_code == 1 and "version 42 does not exist" in missing.output


def test_removed_field_is_kept_until_purge(published: Crm, svc: CrmServices, tmp_path: Path) -> None:
    """Removing a field sets its column aside; purge asks first, then drops it."""
    out = tmp_path / "meta"
    assert published("export-meta", str(out)).exit_code == 0
    path = out / "entity" / "product.json"
    doc = json.loads(path.read_text("utf-8"))
    doc["fields"] = [f for f in doc["fields"] if f["name"] != "description"]
    path.write_text(json.dumps(doc), "utf-8")
    result = published("import-meta", str(out), "--publish")
    assert result.exit_code == 0, result.output
    assert "field_removed entity product.description" in result.output
    assert "data kept until purge" in result.output

    declined = published("purge", input="n\n")
    assert declined.exit_code == 1 and "1 column(s)" in declined.output
    purged = published("purge", "--yes")
    assert purged.exit_code == 0 and "dropped removed column" in purged.output
    assert "Nothing to purge" in published("purge").output


def test_unreachable_database_is_a_message_not_a_traceback(crm: Crm, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database that cannot be reached gives ``Error: database error: ...`` and status 1."""
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    result = crm("versions")
    assert result.exit_code == 1
    assert "database error" in result.output and "secret" not in result.output


def test_installed_crm_script(crm_env: dict[str, str], tmp_path: Path) -> None:
    """The console script installed by pip runs the same commands in a child process."""
    if not CRM_SCRIPT.exists():
        pytest.skip("the crm console script is not installed: run `make setup`")
    env = {**os.environ, **crm_env}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CRM_SCRIPT), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert run("init-db").returncode == 0
    result = run("import-meta", str(DATA_DIR), "--publish")
    assert result.returncode == 0, result.stderr
    assert "Published version 1." in result.stdout
    versions = run("versions")
    assert versions.returncode == 0 and len(versions.stdout.splitlines()) == 2
    bad = run("rollback", "7")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "Error: version 7 does not exist"
