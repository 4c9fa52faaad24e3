"""Formulas reading a linked record (``member.tier`` in an order's formula) follow that record's changes.

When a record changes a field that formulas of other records read through their links, exactly the
records linking to it (over one or more hops) get their formulas recomputed, and the new values go
through the record runtime like any derived write: ``lock_version``, audit, update triggers with
``changed_fields``.  The depth guard of ``write_derived`` stops loops.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Select, select

from metamodel.model import SiteModel
from rule_engine.evaluation import Expressions
from rule_engine.fieldrules.compute import DerivedWrite
from rule_engine.fieldrules.recompute import refresh_and_check
from rule_engine.fieldrules.spec import LinkRead, SiteRules


def reader_ids(conn: Connection, site: SiteModel, read: LinkRead, record_id: int) -> list[int]:
    """Return the ids of ``read.reader`` records whose links lead to record ``record_id``."""
    models = [site.entity(read.reader)]
    for hop in read.links[:-1]:
        models.append(site.entity(str(models[-1].fields[hop].get("target"))))
    # Walk back from the changed record: the holders of the last link, then of the one before, ...
    last = models[-1].table
    query: Select[Any] = select(last.c.id).where(last.c[read.links[-1]] == record_id)
    for model, hop in zip(reversed(models[:-1]), reversed(read.links[:-1]), strict=True):
        query = select(model.table.c.id).where(model.table.c[hop].in_(query))
    return sorted(int(i) for i in conn.execute(query).scalars())


def refresh_link_readers(
    expressions: Expressions,
    rules: SiteRules,
    site: SiteModel,
    conn: Connection,
    entity: str,
    record_id: int,
    changed: set[str],
    now: dt.datetime,
    write: DerivedWrite,
) -> None:
    """Recompute the formulas of the records reading ``changed`` fields of this record through links."""
    for read in rules.link_readers.get(entity, []):
        if not changed & read.fields:
            continue
        for reader_id in reader_ids(conn, site, read, record_id):
            refresh_and_check(
                expressions,
                rules,
                site,
                conn,
                read.reader,
                reader_id,
                now,
                label=f"{read.reader} {reader_id}",
                write=write,
                rollups=False,
            )
