"""The data findings of a draft (metamodel.datachecks) in the request's language, for validate and publish."""

from __future__ import annotations

from typing import Any

from crm_platform.i18n import t
from metamodel.datachecks import DataFinding
from metamodel.errors import SchemaChangeRefused


def finding_dict(finding: DataFinding) -> dict[str, Any]:
    """Return one finding as JSON, its message translated by ``datacheck.<code>``."""
    key = f"datacheck.{finding.code}"
    text = t(key, **finding.values)
    return finding.as_dict(None if text == key else text)


def localised_refusal(error: SchemaChangeRefused) -> SchemaChangeRefused:
    """Translate the findings a publish was refused for (other refusals pass unchanged)."""
    findings = error.extra.get("findings")
    if not findings:
        return error
    for item in findings:
        key = f"datacheck.{item['code']}"
        text = t(key, **item["values"])
        if text != key:
            item["message"] = text
    error.message = findings[0]["message"]
    return error
