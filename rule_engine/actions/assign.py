"""Assign the record's owner: a fixed user, or round-robin / least-loaded among users the record chooses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from metamodel.model import SiteModel
from metamodel.systables import users
from rule_engine.actions.assignees import SCHEMA_PROPERTIES, candidates, check_sources
from rule_engine.actions.base import Action, ActionContext, ActionFailed
from rule_engine.actions.values import reasons, source_id
from rule_engine.evaluation import expressions_of
from rule_engine.tables import assignment_cursors


def user_id_of(conn: Connection, username: str) -> int:
    """Return the id of an active user; ActionFailed when there is none."""
    found = conn.execute(
        select(users.c.id).where(users.c.username == username, users.c.is_active.is_(True))
    ).scalar()
    if found is None:
        raise ActionFailed(f"there is no active user '{username}'")
    return int(found)


class AssignOwner(Action):
    """``{"mode": "fixed", "user": "ann"}``, ``{"mode": "round_robin", "team": "sales"}`` or
    ``{"mode": "least_loaded", "team": "support", "open_condition": "status != 'closed'"}``; instead of a
    fixed ``team``: ``team_field`` (a field naming the team) or ``role`` (its members in the record's org
    unit: ``unit_field``, else the entity's org unit field, else the owner's unit; ``include_subunits``)."""

    type = "assign_owner"
    retry_safe = True
    schema = {
        "type": "object",
        "required": ["mode"],
        "additionalProperties": False,
        "properties": {
            "mode": {"enum": ["fixed", "round_robin", "least_loaded"]},
            "user": {"type": "string", "minLength": 1},
            **SCHEMA_PROPERTIES,
            "open_condition": {"type": "string", "minLength": 1, "maxLength": 2000},
            "cursor": {"type": "string", "minLength": 1, "maxLength": 150},
        },
        "allOf": [
            {"if": {"properties": {"mode": {"const": "fixed"}}}, "then": {"required": ["user"]}},
            {
                "if": {"properties": {"mode": {"enum": ["round_robin", "least_loaded"]}}},
                "then": {
                    "anyOf": [{"required": ["team"]}, {"required": ["team_field"]}, {"required": ["role"]}]
                },
            },
        ],
    }

    def check(self, config: Mapping[str, Any], site: SiteModel, entity: str) -> Iterable[tuple[str, str]]:
        """Least-loaded counting must be a condition the database can evaluate."""
        if config["mode"] != "least_loaded" and config.get("open_condition"):
            yield "open_condition", "only least_loaded counts open records"
        yield from check_sources(config, site, entity)

    def expressions(self, config: Mapping[str, Any], entity: str) -> Iterable[tuple[str, str, str]]:
        """The open-record condition is evaluated on records of the same entity."""
        if config.get("open_condition"):
            yield "open_condition", str(config["open_condition"]), entity

    def sql_expressions(self, config: Mapping[str, Any], entity: str) -> Iterable[tuple[str, str, str]]:
        """The open-record condition must translate to SQL (it counts records in the database)."""
        return self.expressions(config, entity)

    def needs_source(self, config: Mapping[str, Any]) -> bool:
        """It writes the source record."""
        return True

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        """Pick the owner and update the record."""
        record_id = source_id(ctx)
        mode = config["mode"]
        if mode == "fixed":
            owner = user_id_of(ctx.conn, str(config["user"]))
        else:
            among, members = candidates(ctx, config)
            if not members:
                raise ActionFailed(f"{among} has no active members", retry=True)
            if mode == "round_robin":
                key = str(config.get("cursor") or f"{ctx.entity}:{_cursor_name(config, among)}")
                owner = _next_in_turn(ctx.conn, key, members)
            else:
                owner = _least_loaded(ctx, config, members)
        with reasons():
            ctx.record = ctx.runtime.update(
                ctx.entity, record_id, {"owner_id": owner}, actor=ctx.actor, conn=ctx.conn
            )
        return f"assigned {ctx.entity} {record_id} to user {owner} ({mode})"


def _next_in_turn(conn: Connection, key: str, members: list[int]) -> int:
    # The cursor row is locked (PostgreSQL) so concurrent firings hand out consecutive members.
    statement = select(assignment_cursors.c.last_user_id).where(assignment_cursors.c.key == key)
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update()
    row = conn.execute(statement).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(assignment_cursors.insert().values(key=key, last_user_id=None))
        except IntegrityError:
            pass
        row = conn.execute(statement).first()
    last = row.last_user_id if row is not None else None
    later = [user_id for user_id in members if last is None or user_id > last]
    chosen = later[0] if later else members[0]
    conn.execute(
        assignment_cursors.update().where(assignment_cursors.c.key == key).values(last_user_id=chosen)
    )
    return chosen


def _least_loaded(ctx: ActionContext, config: Mapping[str, Any], members: list[int]) -> int:
    model = ctx.site.entity(ctx.entity)
    table = model.table
    clauses = [table.c.owner_id.in_(members), table.c.id != source_id(ctx)]
    condition = config.get("open_condition")
    if condition:
        sql = expressions_of(ctx.services).to_sql(ctx.site, ctx.entity, str(condition), ctx.now)
        if sql is None:
            raise ActionFailed("open_condition cannot be evaluated by the database; simplify it")
        clauses.append(sql)
    counts: dict[int, int] = dict(
        ctx.conn.execute(
            select(table.c.owner_id, func.count()).where(*clauses).group_by(table.c.owner_id)
        ).all()
    )
    return min(members, key=lambda user_id: (counts.get(user_id, 0), user_id))


def _cursor_name(config: Mapping[str, Any], among: str) -> str:
    # A fixed team keeps its historic key; a chosen group turns by itself (each store its own turn).
    if config.get("team"):
        return str(config["team"])
    return among.replace("'", "")[:110]
