"""The studio's field editor: a field's common settings, the options of a select, rename and retype.

Each edit changes a copy of the draft entity and is saved through the metadata service's put_document,
the path every studio and API edit takes. Before saving, the draft with the change is checked by the
engine (validate_bundle); this field's problems are shown beside the inputs and nothing is saved. What
publishing would do to stored records (an option in use, values that cannot convert) comes from the
engine's data checks (check_draft_data), the same report /api/v1/meta/draft/validate gives.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from crm_platform.api.common import username
from crm_platform.api.datafindings import finding_dict
from crm_platform.i18n import current_locale, t
from crm_platform.pages.triggerform import text
from crm_platform.services import services
from form_renderer.presentation.palette import PALETTE
from metamodel.definitions import FieldDef
from metamodel.errors import MetadataInvalid, Problem
from metamodel.fieldtypes.base import ValueProblem
from metamodel.validation import validate_bundle

FLAGS = ("required", "unique", "indexed", "searchable")
CHOICES = ("select", "multi_select")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_OPTIONS = 500
# Types a field may be re-typed to from the studio: those needing no settings of their own.
RETYPES = (
    "text",
    "long_text",
    "integer",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "email",
    "phone",
    "url",
)


def _labels(form: Mapping[str, str], prefix: str) -> dict[str, str]:
    found = {"en": text(form, f"{prefix}_en", 200), "zh-CN": text(form, f"{prefix}_zh", 200)}
    return {k: v for k, v in found.items() if v}


def _put_labels(field: dict[str, Any], key: str, labels: dict[str, str]) -> None:
    if labels:
        field[key] = labels
    else:
        field.pop(key, None)


def read_settings(form: Mapping[str, str], field: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The field with the form's labels, help, flags and default; the default is read by its type."""
    new = copy.deepcopy(field)
    _put_labels(new, "label", _labels(form, "label"))
    _put_labels(new, "help", _labels(form, "help"))
    for flag in FLAGS:
        if form.get(flag) == "on":
            new[flag] = True
        else:
            new.pop(flag, None)
    new.pop("default", None)
    raw = text(form, "default", 500)
    problems: list[Problem] = []
    registry = services().metadata.registry
    if raw and new.get("type") in registry:
        kind = registry.get(str(new["type"]))
        definition = FieldDef(new)
        try:
            new["default"] = kind.serialize(
                definition, kind.prepare(definition, kind.from_form(definition, [raw]))
            )
        except ValueProblem as exc:
            problems.append(Problem("default", exc.message, exc.code))
    return new, problems


def read_options(form: MultiDict[str, str], field: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The field with the options in the order posted: value, labels in both languages and a colour."""
    new = copy.deepcopy(field)
    rows = zip(
        form.getlist("opt_value"),
        form.getlist("opt_en"),
        form.getlist("opt_zh"),
        form.getlist("opt_color"),
        strict=False,
    )
    options: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, (value, en, zh, colour) in enumerate(list(rows)[:MAX_OPTIONS]):
        value = value.strip()[:100]
        if not value:  # kept in place (the save is refused), so the row is shown with its problem
            problems.append(Problem(f"options[{index}]", t("studio.err.option_value"), "required"))
        elif value in seen:
            problems.append(
                Problem(f"options[{index}]", t("studio.fe.err.option_twice", value=value), "duplicate")
            )
        seen.add(value)
        option: dict[str, Any] = {"value": value, "color": colour if colour in PALETTE else "gray"}
        labels = {k: v.strip()[:200] for k, v in (("en", en), ("zh-CN", zh)) if v.strip()}
        if labels:
            option["label"] = labels
        options.append(option)
    if not options:
        problems.append(Problem("options", t("studio.err.options_required"), "required"))
    new["options"] = options
    return new, problems


def read_rename(
    form: Mapping[str, str], doc: dict[str, Any], field: dict[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """The field under its new name (its id kept, so publishing renames the column and keeps the data)."""
    new = copy.deepcopy(field)
    name = text(form, "new_name", 60)
    problems: list[Problem] = []
    if not NAME.match(name):
        problems.append(Problem("new_name", t("studio.err.name_format"), "name"))
    elif name != field["name"] and any(f.get("name") == name for f in doc.get("fields") or []):
        problems.append(Problem("new_name", t("studio.err.field_exists", name=name), "duplicate"))
    new["name"] = name
    return new, problems


def read_retype(form: Mapping[str, str], field: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The field with a new type (its id kept: publishing converts the stored values)."""
    new = copy.deepcopy(field)
    kind = text(form, "new_type", 40)
    if kind not in RETYPES or kind not in services().metadata.registry:
        return new, [Problem("new_type", t("studio.err.type_unknown"), "enum")]
    new["type"] = kind
    # Settings of the old type mean nothing to the new one; the default may not parse either.
    for key in ("options", "target", "currency", "child_entity", "default", "max_length", "min", "max"):
        new.pop(key, None)
    if kind not in ("text", "long_text", "email", "phone", "url"):
        new.pop("searchable", None)
    return new, []


def _with_field(doc: dict[str, Any], index: int, field: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    changed["fields"][index] = field
    old = doc["fields"][index]["name"]
    if old != field["name"]:
        # The entity's own references follow the rename; other documents are reported by the engine.
        if changed.get("title_field") == old:
            changed["title_field"] = field["name"]
        if old in (changed.get("list_fields") or []):
            changed["list_fields"] = [field["name"] if n == old else n for n in changed["list_fields"]]
    return changed


def engine_problems(name: str, doc: dict[str, Any], index: int) -> list[Problem]:
    """The engine's problems of field ``index`` in the draft with ``doc`` in place, paths without the prefix."""
    metadata = services().metadata
    bundle = metadata.draft()
    bundle.documents.setdefault("entity", {})[name] = doc
    prefix = f"entity.{name}.fields[{index}]"
    found = []
    for problem in validate_bundle(bundle, metadata.registry, metadata.checks):
        if problem.path == prefix or problem.path.startswith(prefix + "."):
            found.append(Problem(problem.path[len(prefix) + 1 :] or "field", problem.message, problem.code))
    return found


def save_field(
    name: str, doc: dict[str, Any], index: int, field: dict[str, Any], problems: list[Problem], base: str
) -> str:
    """Check the changed field with the engine and save the entity into the draft; returns its name."""
    changed = _with_field(doc, index, field)
    problems = problems + (engine_problems(name, changed, index) if not problems else [])
    if problems:
        raise MetadataInvalid(t("studio.fe.err.invalid"), problems)
    services().metadata.put_document("entity", name, changed, username(), base=base[:64])
    return str(field["name"])


def field_findings(name: str, index: int) -> list[dict[str, Any]]:
    """What publishing the draft would do to this field's stored records, in the reader's language."""
    _problems, findings = services().metadata.check_draft_data()
    prefix = f"entity.{name}.fields[{index}]"
    return [finding_dict(f) for f in findings if f.path == prefix or f.path.startswith(prefix + ".")]


def option_mappings() -> list[dict[str, Any]]:
    """The removed options records still use, each with the remaining options it may be mapped to."""
    _problems, findings = services().metadata.check_draft_data()
    draft = services().metadata.draft()
    rows = []
    for finding in findings:
        if finding.code != "option_in_use":
            continue
        entity = draft.entity(str(finding.values["entity"]))
        field = entity.field(str(finding.values["field"])) if entity is not None else None
        if field is None:
            continue
        remaining = [(str(c.get("value")), _option_label(c)) for c in field.choices]
        key = f"remap:{finding.values['entity']}:{finding.values['field']}:{finding.values['option']}"
        rows.append({"key": key, "message": finding_dict(finding)["message"], "remaining": remaining})
    return rows


def _option_label(choice: Mapping[str, Any]) -> str:
    labels = choice.get("label") or {}
    return str(labels.get(current_locale()) or labels.get("en") or choice.get("value"))


def option_map(form: Mapping[str, str]) -> dict[str, dict[str, dict[str, str]]]:
    """The option map a publish form chose (``remap:<entity>:<field>:<option>`` = remaining option)."""
    found: dict[str, dict[str, dict[str, str]]] = {}
    for key, value in form.items():
        parts = key.split(":", 3)
        if parts[0] == "remap" and len(parts) == 4 and value:
            found.setdefault(parts[1][:100], {}).setdefault(parts[2][:63], {})[parts[3][:100]] = value[:100]
    return found


__all__ = [
    "CHOICES",
    "FLAGS",
    "PALETTE",
    "RETYPES",
    "engine_problems",
    "field_findings",
    "option_map",
    "option_mappings",
    "read_options",
    "read_rename",
    "read_retype",
    "read_settings",
    "save_field",
]
