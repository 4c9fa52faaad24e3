"""How many people each org unit holds (the org tree editor shows it and refuses to delete a unit in use)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from metamodel.systables import user_org_units


def member_counts(engine: Engine) -> dict[int, int]:
    """Return {unit id: number of users placed in it}; units nobody is in are left out."""
    query = select(user_org_units.c.unit_id, func.count()).group_by(user_org_units.c.unit_id)
    with engine.connect() as conn:
        return {int(unit): int(count) for unit, count in conn.execute(query)}
