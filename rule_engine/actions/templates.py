"""Message templates: Jinja2's sandbox, given only plain values of the record (no objects, no services)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from metamodel.records.hooks import Actor
from rule_engine.actions.base import ActionContext, ActionFailed
from rule_engine.evaluation import plain

MAX_OUTPUT = 100_000

_env = SandboxedEnvironment(
    autoescape=False,
    undefined=ChainableUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=lambda value: "" if value is None else value,
)


@functools.lru_cache(maxsize=512)
def _compiled(text: str) -> Template:
    return _env.from_string(text)


def template_problem(text: str) -> str | None:
    """Return why a template does not parse, or None."""
    try:
        _compiled(text)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        return f"template error{f' on line {line}' if line else ''}: {exc.message or exc}"
    return None


def template_values(ctx: ActionContext, reader: Actor | None = None) -> dict[str, Any]:
    """Return what templates may use: the record's plain values and a few facts about the firing.

    With ``reader``, the record is shown as that user may see it (fields hidden or masked by her
    field rules); ``UNKNOWN_READER`` gets every restriction any role has. The runtime decides.
    """
    model = ctx.site.entities.get(ctx.entity)
    shown = ctx.record
    if reader is not None and ctx.runtime is not None:
        shown = ctx.runtime.present_as(ctx.entity, dict(ctx.record), reader, ctx.conn)
    record = plain(shown)
    title_field = model.entity.title_field if model else None
    title = record.get(title_field) if title_field else None
    return {
        "record": record,
        "title": str(title or record.get("record_no") or f"#{record.get('id')}"),
        "entity": ctx.entity,
        "entity_label": model.entity.label() if model else ctx.entity,
        "rule": ctx.rule,
        "now": plain(ctx.now),
    }


def render(text: str, values: Mapping[str, Any]) -> str:
    """Render a template; ActionFailed (not retried) when it fails or escapes the sandbox."""
    try:
        output = _compiled(text).render(dict(values))
    except TemplateError as exc:
        raise ActionFailed(f"template failed: {exc.message or exc}") from exc
    return output[:MAX_OUTPUT]
