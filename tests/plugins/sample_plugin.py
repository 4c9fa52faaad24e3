"""The ``sample`` test plugin, installed through a real entry point (see pluginsupport): one of each kind.

Field type ``color`` (#rrggbb) with its presentation (a swatch, a colour input), function ``shout(text)``, action ``stamp``, record hooks on ``gadget``
records, an API route and a page. Some titles make its hooks fail on purpose:
``boom-before`` / ``boom-delete`` raise in before-save / before-delete, ``boom-after`` raises in
after-save after writing a note (its after-save notes each created gadget), ``keep`` is refused deletion (a CrmError, on purpose).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from flask import Blueprint, jsonify, render_template_string
from flask_login import current_user, login_required
from markupsafe import Markup

from form_renderer.presentation import DisplayContext, FilterWidget, Presentation, Shown
from metamodel.definitions import FieldDef
from metamodel.errors import CrmError
from metamodel.fieldtypes.base import ValueProblem
from metamodel.fieldtypes.text import TextType
from metamodel.records.hooks import DeleteEvent, SaveEvent
from plugins.api import Plugin, PluginContext
from rule_engine.actions.base import Action, ActionContext
from rule_engine.expressions.functions import Function
from rule_engine.expressions.types import STRING


class ColorType(TextType):
    """A colour as ``#rrggbb`` (stored lower-case)."""

    type = "color"
    widget = "color"

    def normalize(self, text: str) -> str:
        return text.lower()

    def check_format(self, field: FieldDef, text: str) -> None:
        if not re.fullmatch(r"#[0-9a-f]{6}", text):
            raise ValueProblem("must be a colour like #12ab9f", "format")


class ColorPresentation(Presentation):
    """How a colour is shown: a swatch with its code, and a colour input on forms (its own template)."""

    type = "color"
    widgets = ("color", "text")
    template_folder = Path(__file__).parent / "sample_templates"

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        return Markup(
            '<span class="sample-swatch" style="background:{0}" aria-hidden="true"></span> '
            '<code class="sample-color">{0}</code>'
        ).format(shown.value)

    def filter_widget(self, definition: FieldDef, locale: str) -> FilterWidget:
        return FilterWidget("text")


class Stamp(Action):
    """Write ``text`` into the record's ``stamp`` field."""

    type = "stamp"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["text"],
        "additionalProperties": False,
        "properties": {"text": {"type": "string"}},
    }

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        record_id = int(ctx.record["id"])
        ctx.record = ctx.runtime.update(
            ctx.entity, record_id, {"stamp": config["text"]}, actor=ctx.actor, conn=ctx.conn
        )
        return f"stamped {ctx.entity} {record_id}"


class KeepIt(CrmError):
    """The sample plugin refuses to delete a gadget titled ``keep``."""

    code = "kept"
    status = 409


def before_save(event: SaveEvent) -> None:
    if event.entity.name != "gadget":
        return
    title = event.values.get("title") or (event.before or {}).get("title")
    if title == "boom-before":
        raise RuntimeError("the sample plugin fails before saving")
    if title == "invalid":
        event.problems.add("title", "the sample plugin refuses this title", "plugin")
    if event.values.get("code"):
        event.values["code"] = str(event.values["code"]).upper()


def after_save(event: SaveEvent) -> None:
    if event.entity.name != "gadget" or event.action != "create":
        return
    title = event.values.get("title") or (event.before or {}).get("title")
    event.runtime.create("note", {"text": f"after {title}"}, conn=event.conn)
    if title == "boom-after":
        raise RuntimeError("the sample plugin fails after saving")


def before_delete(event: DeleteEvent) -> None:
    if event.entity.name != "gadget":
        return
    if event.record.get("title") == "keep":
        raise KeepIt("the sample plugin keeps this gadget")
    if event.record.get("title") == "boom-delete":
        raise RuntimeError("the sample plugin fails before deleting")


api = Blueprint("sample_api", __name__)
pages = Blueprint("sample_pages", __name__)


@api.get("/ping")
def ping() -> Any:
    return jsonify({"pong": current_user.username})


@pages.get("/")
@login_required
def hello_page() -> Any:
    return render_template_string("<h1>Sample plugin</h1><p>Hello {{ name }}</p>", name=current_user.username)


class SamplePlugin(Plugin):
    name = "sample"
    version = "2.1.0"

    def register(self, ctx: PluginContext) -> None:
        ctx.field_types.register(ColorType)
        ctx.presentations.register(ColorPresentation)
        ctx.functions.register(Function("shout", (STRING,), STRING, lambda text: text.upper() + "!"))
        ctx.actions.register(Stamp)
        ctx.hooks.before_save(before_save)
        ctx.hooks.after_save(after_save)
        ctx.hooks.before_delete(before_delete)
        ctx.add_api(api)
        ctx.add_pages(pages)


plugin = SamplePlugin()
