"""The benchmark entity (15 fields of varied types plus a small linked entity) and fast data loading.

``publish_site`` makes a fresh file database, creates the system tables and publishes the bundle
through MetadataService, exactly as the platform does.  ``bulk_load`` then fills the published
table with bulk Core inserts (executemany in batches, one transaction), including the system columns.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Table

from metamodel.database import make_engine, upgrade_database
from metamodel.definitions import Bundle
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.model import SiteModel
from metamodel.versions import MetadataService

ENTITY = "bench_deal"
ACCOUNT = "bench_account"
ACCOUNTS = 1_000
BATCH = 10_000
# Newest created_at; data spreads over the two years before it.
END = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=730)

# Status values with realistic, uneven shares (the list filter uses "open").
STATUSES = ("new", "open", "won", "lost", "on_hold")
STATUS_WEIGHTS = (15, 30, 20, 25, 10)
TAGS = ("vip", "partner", "inbound", "outbound", "renewal", "upsell", "trial")

BUNDLE: dict[str, Any] = {
    "entity": {
        ACCOUNT: {
            "name": ACCOUNT,
            "title_field": "name",
            "fields": [{"name": "name", "type": "text", "required": True}],
        },
        ENTITY: {
            "name": ENTITY,
            "title_field": "name",
            "default_sort": "-created_at",
            "indexes": [{"fields": ["status", "created_at"]}],
            "fields": [
                {"name": "name", "type": "text", "required": True, "searchable": True},
                {"name": "email", "type": "email"},
                {"name": "phone", "type": "phone"},
                {
                    "name": "status",
                    "type": "select",
                    "indexed": True,
                    "default": "new",
                    "options": [{"value": value} for value in STATUSES],
                },
                {"name": "quantity", "type": "integer", "min": 0},
                {"name": "amount", "type": "currency", "currency": "USD"},
                {"name": "close_date", "type": "date"},
                {"name": "last_contact", "type": "datetime"},
                {"name": "active", "type": "boolean"},
                {"name": "notes", "type": "long_text"},
                {"name": "website", "type": "url"},
                {"name": "tags", "type": "multi_select", "options": [{"value": tag} for tag in TAGS]},
                {"name": "account", "type": "link", "target": ACCOUNT, "on_delete": "restrict"},
                {"name": "probability", "type": "decimal", "scale": 2, "min": 0, "max": 100},
                {"name": "reference", "type": "text", "max_length": 40},
            ],
        },
    }
}

_FIRST = ("Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger")
_LAST = ("Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen")
_WORDS = ("renewal", "pilot", "expansion", "migration", "licence", "support", "rollout", "audit", "training")
_NOTES = (
    "Called, left a message.",
    "Sent the proposal; waiting for legal review.\nFollow up next week.",
    "Budget approved for Q3.",
    "",
    "Asked for a discount on the second year.",
)


@dataclass
class Site:
    """A database with the benchmark bundle published."""

    engine: Engine
    metadata: MetadataService
    registry: FieldTypeRegistry

    def model(self) -> SiteModel:
        """Return the compiled active version."""
        return self.metadata.model()

    def table(self, entity: str = ENTITY) -> Table:
        """Return the published table of an entity."""
        return self.model().entity(entity).table


def publish_site(url: str) -> Site:
    """Create the system tables in a new database and publish the benchmark bundle."""
    engine = make_engine(url)
    upgrade_database(engine)
    registry = register_builtin_field_types(FieldTypeRegistry())
    metadata = MetadataService(engine, registry)
    metadata.replace_draft(Bundle.from_json(BUNDLE), "bench")
    metadata.publish("bench", "benchmark entities")
    return Site(engine, metadata, registry)


def load_accounts(site: Site, count: int = ACCOUNTS) -> list[int]:
    """Insert the small linked entity's records; returns their ids."""
    table = site.table(ACCOUNT)
    now = END
    rows = [
        {"name": f"Account {i:04d}", "lock_version": 1, "created_at": now, "updated_at": now}
        for i in range(count)
    ]
    with site.engine.begin() as conn:
        conn.execute(table.insert(), rows)
        return [
            row.id for row in conn.execute(table.select().with_only_columns(table.c.id).order_by(table.c.id))
        ]


def sample_values(rng: random.Random, account_ids: list[int], i: int) -> dict[str, Any]:
    """Return the field values of one varied, realistic record (Python values, as after prepare)."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    has_contact = rng.random() < 0.8
    return {
        "name": f"{first} {last} {rng.choice(_WORDS)} #{i}",
        "email": f"{first.lower()}.{last.lower()}{i}@example.com" if has_contact else None,
        "phone": f"+4930{rng.randrange(1_000_000, 9_999_999)}" if has_contact else None,
        "status": rng.choices(STATUSES, STATUS_WEIGHTS)[0],
        "quantity": rng.randrange(1, 500),
        "amount": Decimal(rng.randrange(10_000, 10_000_000)).scaleb(-2),
        "close_date": (END - dt.timedelta(days=rng.randrange(-90, 730))).date(),
        "last_contact": END - dt.timedelta(seconds=rng.randrange(0, 730 * 86_400)),
        "active": rng.random() < 0.7,
        "notes": rng.choice(_NOTES) or None,
        "website": f"https://www.{last.lower()}-{i % 997}.example.org/" if rng.random() < 0.5 else None,
        "tags": rng.sample(TAGS, rng.randrange(0, 3)) or None,
        "account": rng.choice(account_ids) if rng.random() < 0.9 else None,
        "probability": Decimal(rng.randrange(0, 10_001)).scaleb(-2),
        "reference": f"REF-{rng.randrange(10**7):07d}",
    }


def bulk_load(site: Site, total: int, account_ids: list[int], seed: int = 1) -> None:
    """Insert ``total`` records with executemany batches in one transaction.

    created_at spreads over two years and grows with the id (records are created over time), with
    jitter, so equal-ish timestamps are interleaved with other statuses like in real data.
    """
    table = site.table()
    rng = random.Random(seed)
    start = END - SPAN
    step = SPAN / max(total, 1)
    with site.engine.begin() as conn:
        batch: list[dict[str, Any]] = []
        for i in range(total):
            created = start + step * i + dt.timedelta(seconds=rng.randrange(0, 60))
            row = sample_values(rng, account_ids, i)
            row.update(
                lock_version=1 + (i % 3 == 0),
                owner_id=rng.randrange(1, 50),
                created_at=created,
                created_by=1,
                updated_at=created + dt.timedelta(hours=rng.randrange(0, 48)),
                updated_by=1,
            )
            batch.append(row)
            if len(batch) == BATCH:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
