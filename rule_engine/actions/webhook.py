"""Outbound webhook: a JSON payload queued in the outbox inside the transaction, POSTed after commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from metamodel.model import SiteModel
from rule_engine.actions.base import Action, ActionContext
from rule_engine.delivery.outbox import enqueue_webhook
from rule_engine.evaluation import plain


class Webhook(Action):
    """``{"url": "https://...", "secret": "name", "fields": [...]}``; signed with HMAC-SHA256 of the body."""

    type = "webhook"
    retry_safe = True
    schema = {
        "type": "object",
        "required": ["url"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "minLength": 8, "maxLength": 2000},
            "secret": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
            "fields": {"type": "array", "items": {"type": "string"}},
        },
    }

    def check(self, config: Mapping[str, Any], site: SiteModel, entity: str) -> Iterable[tuple[str, str]]:
        """The URL must be http(s) with a host; listed fields must exist."""
        parts = urlsplit(str(config["url"]))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            yield "url", "must be an http:// or https:// address"
        model = site.entity(entity)
        for index, name in enumerate(config.get("fields") or []):
            if name not in model.fields and name not in (
                "id",
                "record_no",
                "owner_id",
                "created_at",
                "updated_at",
            ):
                yield f"fields[{index}]", f"entity '{entity}' has no field '{name}'"

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        """Queue the delivery; the outbox worker signs and sends it."""
        record = plain(ctx.record)
        fields = config.get("fields")
        if fields:
            record = {name: record.get(name) for name in ["id", *fields]}
        body = {
            "rule": ctx.rule,
            "event": getattr(ctx, "event", "") or "",
            "entity": ctx.entity,
            "record": record,
            "fired_at": plain(ctx.now),
        }
        message_id = enqueue_webhook(
            ctx.conn, ctx.rule, str(config["url"]), body, str(config.get("secret") or "default"), ctx.now
        )
        return f"webhook queued as outbox {message_id}"
