"""A published site on a real database with the rule engine installed and a fake clock, for tests."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, func, select

from metamodel.database import make_engine, upgrade_database
from metamodel.definitions import Bundle
from metamodel.errors import MetadataInvalid
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.records.hooks import RecordHooks
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import roles, team_members, teams, user_roles, users
from metamodel.versions import MetadataService
from rule_engine.actions.base import Action
from rule_engine.assembly import MIGRATIONS, build_rule_engine, install_rule_engine
from rule_engine.engine import RuleEngine
from rule_engine.fieldrules.backfills import PublishBackfill
from rule_engine.scheduler.runner import RunReport, run_due
from rule_engine.tables import firings, state_history

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@dataclass
class World:
    """A database with published metadata, the rule engine installed, and a fake clock."""

    db: Engine
    metadata: MetadataService
    rules: RuleEngine
    hooks: RecordHooks
    clock: FakeClock
    services: dict[str, Any] = field(default_factory=dict)

    def runtime(self) -> RecordRuntime:
        return RecordRuntime(self.metadata.model(), self.db, self.hooks, self.clock)

    def run_due(self, **kwargs: Any) -> RunReport:
        return run_due(self.db, self.metadata.model(), self.clock(), self.rules, self.hooks, **kwargs)

    def publish(self, bundle: Mapping[str, Any]) -> None:
        self.metadata.replace_draft(Bundle.from_json(copy.deepcopy(dict(bundle))), "test")
        try:
            self.metadata.publish("test")
        except MetadataInvalid as exc:
            exc.args = (f"{exc.message}: {[p.as_dict() for p in exc.problems]}",)
            raise

    def count(self, table: sa.Table | str, *where: Any) -> int:
        target = self.metadata.model().entity(table).table if isinstance(table, str) else table
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(target).where(*where)).scalar_one())

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            order = table.c.id if "id" in table.c else next(iter(table.primary_key))
            return [dict(r) for r in conn.execute(select(table).where(*where).order_by(order)).mappings()]

    def ledger(self, rule: str | None = None) -> list[dict[str, Any]]:
        return self.rows(firings, *([firings.c.rule == rule] if rule else []))


def make_world(
    db_url: str,
    bundle: Mapping[str, Any] | None,
    *,
    services: Mapping[str, Any] | None = None,
    actions: Iterable[type[Action]] = (),
    now: dt.datetime = T0,
) -> World:
    """Migrate the database, build the rule engine with the trigger component, publish ``bundle`` if given."""
    db = make_engine(db_url)
    upgrade_database(db, MIGRATIONS)
    field_types = register_builtin_field_types(FieldTypeRegistry())
    clock = FakeClock(now)
    rules = build_rule_engine(field_types, clock, services=services, actions=actions)
    hooks = install_rule_engine(rules)
    metadata = MetadataService(db, field_types, checks=[rules.check_bundle])
    metadata.on_publish.append(PublishBackfill(metadata, rules.functions))
    world = World(db, metadata, rules, hooks, clock, dict(services or {}))
    if bundle is not None:
        world.publish(bundle)
    return world


def add_user(
    db: Engine,
    username: str,
    *,
    email: str | None = None,
    role_names: Iterable[str] = (),
    team_names: Iterable[str] = (),
) -> int:
    """Insert an active user with roles and team memberships (creating them); returns the id."""
    with db.begin() as conn:
        user_id = conn.execute(
            users.insert()
            .returning(users.c.id)
            .values(
                username=username,
                password_hash="x",
                display_name=username.title(),
                email=email,
                created_at=T0,
            )
        ).scalar_one()
        for role in role_names:
            if conn.execute(select(roles.c.name).where(roles.c.name == role)).first() is None:
                conn.execute(roles.insert().values(name=role, label={}))
            conn.execute(user_roles.insert().values(user_id=user_id, role=role))
        for team in team_names:
            if conn.execute(select(teams.c.name).where(teams.c.name == team)).first() is None:
                conn.execute(teams.insert().values(name=team, label={}))
            conn.execute(team_members.insert().values(team=team, user_id=user_id))
    return int(user_id)


def enter_state(
    world: World, entity: str, record_id: int, state_field: str, state: str, at: dt.datetime
) -> None:
    """Put a record into ``state`` as the workflow does: set the field and write the current history row."""
    runtime = world.runtime()
    with world.db.begin() as conn:
        before = runtime.get(entity, record_id, conn=conn)[state_field]
        runtime.update(entity, record_id, {state_field: state}, conn=conn)
        conn.execute(
            state_history.update()
            .where(state_history.c.entity == entity, state_history.c.record_id == record_id)
            .values(is_current=False)
        )
        conn.execute(
            state_history.insert().values(
                entity=entity,
                record_id=record_id,
                workflow="wf",
                from_state=before,
                to_state=state,
                at=at,
                comment="",
                is_current=True,
            )
        )


def entity(name: str, fields: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Return an entity document."""
    return {"name": name, "fields": fields, **extra}


def select_field(name: str, values: Iterable[str], **extra: Any) -> dict[str, Any]:
    """Return a select field with the given option values."""
    return {"name": name, "type": "select", "options": [{"value": v} for v in values], **extra}
