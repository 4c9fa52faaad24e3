"""The demo: a small bilingual CRM (customers, products, sales orders) loaded into an empty database."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from crm_platform.auth.users import MIN_PASSWORD_LENGTH, authenticate, create_user
from crm_platform.demo_packs import install_demo_packs, trade_logins
from crm_platform.metafiles import read_bundle
from crm_platform.services import CrmServices
from metamodel.definitions import Bundle
from metamodel.errors import RecordInvalid
from metamodel.records.hooks import Actor
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import users

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_ENTITIES = ("customer", "product", "sales_order", "order_line")
ADMIN, NORMAL_USER = "admin", "demo"
CREDENTIALS_FILE = "demo_credentials.txt"
PASSWORD_ENV = "CRM_DEMO_PASSWORD"
# records.json names link targets by a natural key instead of an id: target entity -> key field.
LINK_KEYS = {"customer": "name", "product": "sku"}


def demo_bundle() -> Bundle:
    """Return the demo metadata read from demo_data/ (entity/*.json, form/*.json)."""
    return read_bundle(DATA_DIR)


def prepare_demo(app: Flask) -> list[str]:
    """Load the demo into an empty database (once) and return the sign-in lines to print."""
    svc: CrmServices = app.extensions["crm"]
    instance = Path(app.config["CRM_INSTANCE_DIR"])
    state = _state(svc)
    if state == "other":
        return _login_lines(svc, instance, created=False) if _has_demo_users(svc) else []
    lines: list[str] = []
    if state == "empty":
        svc.metadata.replace_draft(demo_bundle(), "demo")
        info = svc.metadata.publish("demo", "demo: customers, products and sales orders")
        lines.append(f"Demo metadata published as version {info.number}.")
    password = _password(instance)
    created = _ensure_users(svc, password)
    runtime = svc.runtime()
    if _record_count(runtime) == 0:
        count = _insert_records(runtime, _admin_actor(svc))
        lines.append(f"Demo data: {count} sample records created.")
    lines += install_demo_packs(svc, password, _admin_actor(svc), NORMAL_USER)
    return lines + _login_lines(svc, instance, created=bool(created))


def _state(svc: CrmServices) -> str:
    """Return 'empty' (nothing drafted or published), 'demo' (demo entities published) or 'other'."""
    if svc.metadata.active_version() is None:
        draft = svc.metadata.draft()
        return "empty" if not any(draft.documents.values()) else "other"
    entities = svc.metadata.model().bundle.docs("entity")
    return "demo" if all(name in entities for name in DEMO_ENTITIES) else "other"


def _password(instance: Path) -> str:
    """Return the demo password: CRM_DEMO_PASSWORD, else the one kept in the instance folder, else a new one."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        if len(from_env) < MIN_PASSWORD_LENGTH:
            raise RecordInvalid(f"{PASSWORD_ENV} must have at least {MIN_PASSWORD_LENGTH} characters")
        return from_env
    stored = _stored_password(instance)
    if stored:
        return stored
    password = secrets.token_urlsafe(12)
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / CREDENTIALS_FILE
    # Created with mode 600 from the start, so the password is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(
            "# Demo sign-in written by crm_platform.demo; both demo accounts share this password.\n"
            f"{ADMIN}:{password}\n{NORMAL_USER}:{password}\n"
        )
    path.chmod(0o600)
    return password


def _stored_password(instance: Path) -> str | None:
    path = instance / CREDENTIALS_FILE
    if not path.exists():
        return None
    for line in path.read_text("utf-8").splitlines():
        if line.startswith(f"{ADMIN}:"):
            return line.split(":", 1)[1].strip() or None
    return None


def _user_exists(svc: CrmServices, username: str) -> bool:
    with svc.engine.connect() as conn:
        return conn.execute(select(users.c.id).where(users.c.username == username)).first() is not None


def _has_demo_users(svc: CrmServices) -> bool:
    return _user_exists(svc, ADMIN)


def _ensure_users(svc: CrmServices, password: str) -> list[str]:
    """Create the demo accounts that are missing; returns the names created."""
    created = []
    for username, display, is_admin in (
        (ADMIN, "Demo administrator", True),
        (NORMAL_USER, "Demo user", False),
    ):
        if not _user_exists(svc, username):
            create_user(svc.engine, username, password, display_name=display, is_admin=is_admin)
            created.append(username)
    return created


def _admin_actor(svc: CrmServices) -> Actor:
    with svc.engine.connect() as conn:
        admin_id = conn.execute(select(users.c.id).where(users.c.username == ADMIN)).scalar()
    return Actor(admin_id, ADMIN, True)


def _record_count(runtime: RecordRuntime) -> int:
    """Count the records of every top-level demo entity."""
    total = 0
    with runtime.engine.connect() as conn:
        for name in DEMO_ENTITIES:
            model = runtime.model.entity(name)
            if not model.entity.is_child:
                total += conn.execute(select(func.count()).select_from(model.table)).scalar_one()
    return total


def _insert_records(runtime: RecordRuntime, actor: Actor) -> int:
    """Create the sample records of records.json through the record runtime, all in one transaction."""
    data: dict[str, list[dict[str, Any]]] = json.loads((DATA_DIR / "records.json").read_text("utf-8"))
    ids: dict[tuple[str, str], int] = {}
    count = 0
    with runtime.transaction() as conn:
        for entity in ("product", "customer", "sales_order"):
            for raw in data.get(entity, []):
                record = runtime.create(entity, _resolve(runtime, entity, raw, ids), actor, conn)
                key_field = LINK_KEYS.get(entity)
                if key_field:
                    ids[(entity, str(record[key_field]))] = int(record["id"])
                count += 1
    return count


def _resolve(
    runtime: RecordRuntime, entity: str, raw: dict[str, Any], ids: dict[tuple[str, str], int]
) -> dict[str, Any]:
    """Replace natural-key link values (also inside child lines) by record ids."""
    model = runtime.model.entity(entity)
    values = dict(raw)
    for field in model.entity.fields:
        value = values.get(field.name)
        if value is None:
            continue
        if field.type == "link":
            values[field.name] = ids[(str(field.get("target")), str(value))]
        elif field.type == "child_table":
            child = str(field.get("child_entity"))
            values[field.name] = [_resolve(runtime, child, line, ids) for line in value]
    return values


def _login_lines(svc: CrmServices, instance: Path, *, created: bool) -> list[str]:
    """Return the sign-in hint; says so when the stored password no longer works."""
    password = os.environ.get(PASSWORD_ENV) or _stored_password(instance)
    lines = []
    if password and authenticate(svc.engine, ADMIN, password):
        lines.append(f"Demo login: {ADMIN} / {password}  (sign in at /login)")
        if _user_exists(svc, NORMAL_USER) and authenticate(svc.engine, NORMAL_USER, password):
            lines.append(f"Normal user: {NORMAL_USER} / {password}")
        trades = trade_logins(svc)
        if trades:
            lines.append("Industry pack logins (same password):")
            lines += trades
        if created and not os.environ.get(PASSWORD_ENV):
            lines.append(f"(password kept in {instance / CREDENTIALS_FILE})")
    else:
        lines.append(
            f"Demo login: {ADMIN} (password changed or unknown; reset it with `crm set-password {ADMIN}`)"
        )
    return lines
