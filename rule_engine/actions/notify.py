"""Notify people: an in-app inbox row each, plus an e-mail queued in the outbox when SMTP is configured."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from metamodel.errors import CrmError
from metamodel.model import SiteModel
from metamodel.records.hooks import UNKNOWN_READER, Actor
from metamodel.systables import team_members, user_roles, users
from rule_engine.actions.base import Action, ActionContext, ActionFailed
from rule_engine.actions.templates import render, template_problem, template_values
from rule_engine.delivery.outbox import enqueue_email
from rule_engine.delivery.settings import smtp_of
from rule_engine.tables import inbox

RECIPIENT_PATTERN = "^(owner|user:[^:]+|role:[^:]+|team:[^:]+)$"


def recipient_ids(conn: Connection, specs: Iterable[str], record: Mapping[str, Any]) -> list[int]:
    """Return the active users named by ``owner``, ``user:NAME``, ``role:NAME`` and ``team:NAME``."""
    ids: dict[int, None] = {}
    active = users.c.is_active.is_(True)
    for spec in specs:
        kind, _, name = spec.partition(":")
        if kind == "owner":
            statement = select(users.c.id).where(users.c.id == record.get("owner_id"), active)
        elif kind == "user":
            statement = select(users.c.id).where(users.c.username == name, active)
        elif kind == "role":
            statement = (
                select(users.c.id)
                .join(user_roles, user_roles.c.user_id == users.c.id)
                .where(user_roles.c.role == name, active)
            )
        else:
            statement = (
                select(users.c.id)
                .join(team_members, team_members.c.user_id == users.c.id)
                .where(team_members.c.team == name, active)
            )
        for user_id in conn.execute(statement.order_by(users.c.id)).scalars():
            ids.setdefault(int(user_id))
    return list(ids)


def _reader(ctx: ActionContext, user: Actor) -> Actor:
    """The recipient, or the unknown reader (every role's restrictions) when she may not read such records."""
    if ctx.runtime is None:
        return user
    try:
        resolved: Actor = ctx.runtime.authorize(ctx.entity, "read", user, conn=ctx.conn)
        return resolved
    except CrmError:
        return UNKNOWN_READER


class Notify(Action):
    """``{"to": ["owner", "role:supervisor"], "subject": "...", "body": "..."}`` (templates, sandboxed)."""

    type = "notify"
    retry_safe = True
    schema = {
        "type": "object",
        "required": ["to", "subject"],
        "additionalProperties": False,
        "properties": {
            "to": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": RECIPIENT_PATTERN}},
            "subject": {"type": "string", "minLength": 1, "maxLength": 1000},
            "body": {"type": "string", "maxLength": 20000},
            "email": {"type": "boolean"},
        },
    }

    def check(self, config: Mapping[str, Any], site: SiteModel, entity: str) -> Iterable[tuple[str, str]]:
        """Templates must parse."""
        for key in ("subject", "body"):
            problem = template_problem(str(config.get(key) or ""))
            if problem:
                yield key, problem

    def needs_source(self, config: Mapping[str, Any]) -> bool:
        """Only to reach the record's owner."""
        return "owner" in config["to"]

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        """Write inbox rows and queue e-mails (sent after commit by the delivery worker).

        Each recipient gets the message rendered as she may see the record: fields her roles hide
        or mask are hidden or masked in her copy too.
        """
        recipients = recipient_ids(ctx.conn, config["to"], ctx.record)
        if not recipients:
            raise ActionFailed(f"nobody to notify: {', '.join(config['to'])} matched no active user")
        people = {
            int(row.id): row
            for row in ctx.conn.execute(
                select(users.c.id, users.c.username, users.c.is_admin, users.c.email).where(
                    users.c.id.in_(recipients)
                )
            )
        }
        messages: dict[int, tuple[str, str]] = {}
        for user_id in recipients:
            person = people[user_id]
            reader = _reader(ctx, Actor(user_id, str(person.username), bool(person.is_admin), now=ctx.now))
            values = template_values(ctx, reader)
            subject = " ".join(render(str(config["subject"]), values).split())[:300]
            messages[user_id] = (subject, render(str(config.get("body") or ""), values))
        record_id = ctx.record.get("id")
        ctx.conn.execute(
            inbox.insert(),
            [
                {
                    "user_id": user_id,
                    "subject": messages[user_id][0],
                    "body": messages[user_id][1],
                    "entity": ctx.entity,
                    "record_id": record_id,
                    "rule": ctx.rule,
                    "created_at": ctx.now,
                }
                for user_id in recipients
            ],
        )
        mailed = 0
        if config.get("email", True) and smtp_of(ctx.services) is not None:
            sent: set[str] = set()
            for user_id in sorted(recipients, key=lambda uid: str(people[uid].email or "")):
                address = people[user_id].email
                if address and address not in sent:
                    sent.add(address)
                    enqueue_email(ctx.conn, ctx.rule, address, *messages[user_id], ctx.now)
                    mailed += 1
        return f"notified {len(recipients)} user(s), {mailed} e-mail(s) queued"
