"""Helpers for the audit tests: a runtime whose hooks write the audit log, and reading the log back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from metamodel.audit import install_record_audit
from metamodel.records.hooks import RecordHooks
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import audit_log
from tests.metamodel.mmsupport import Site


def audited_runtime(site: Site, hooks: RecordHooks | None = None) -> RecordRuntime:
    """Return a runtime on the active model whose saves and deletes are audited."""
    hooks = hooks or RecordHooks()
    install_record_audit(hooks, lambda: "10.1.2.3")
    return RecordRuntime(site.svc.model(), site.engine, hooks, site.clock)


def entries(engine: sa.Engine, **where: Any) -> list[dict[str, Any]]:
    """Return the audit entries (oldest first), optionally filtered by column values."""
    statement = sa.select(audit_log).order_by(audit_log.c.id)
    for column, value in where.items():
        statement = statement.where(audit_log.c[column] == value)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(statement).mappings()]
