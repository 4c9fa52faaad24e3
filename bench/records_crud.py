"""(b) Create, read and update through RecordRuntime vs a hand-written SQLAlchemy ORM model.

Both sides get the same input values and do the same work, each operation in its own transaction:

* create: check the input (the hand-written side checks the e-mail format and the required name),
  set created/updated timestamps, insert one row, read it back as a dict;
* read: fetch one record by id into a dict;
* update: change two fields with an optimistic lock check (``UPDATE ... WHERE id=? AND
  lock_version=?`` incrementing lock_version, rowcount checked) and return the row.

The hand-written model has the same 15 columns and system columns, the same column types and the
same indexes and foreign key as the published table, under its own table name, in the same database.
Runs are interleaved (the side that goes first alternates) and the figure is the median over the
repetitions of the runtime/hand-written time ratio. A third side does the same with SQLAlchemy Core
(one INSERT, the row read back); ``create_vs_core_ratio`` is runtime.create against it.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    bindparam,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bench.core import Context, Figure, median, quiet_gc
from bench.records_setup import ACCOUNT, ENTITY, STATUSES, load_accounts, publish_site, sample_values
from metamodel.coltypes import ExactDecimal, PipeList, UTCDateTime
from metamodel.identifiers import table_name
from metamodel.records.runtime import RecordRuntime

TARGET_RATIO = 1.5
REPEATS = 5
WARMUP = 200


class Base(DeclarativeBase):
    """Declarative base of the hand-written model."""


# Only so HandDeal's foreign key resolves; the platform publishes (creates) the linked table.
Table(table_name(ACCOUNT), Base.metadata, Column("id", Integer, primary_key=True))


class HandDeal(Base):
    """What a developer would write by hand for the same entity."""

    __tablename__ = "hand_deal"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    record_no: Mapped[str | None] = mapped_column(Text, unique=True)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[Any] = mapped_column(ExactDecimal(2), nullable=True)
    close_date: Mapped[dt.date | None] = mapped_column(Date)
    last_contact: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[Any] = mapped_column(PipeList, nullable=True)
    account: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{table_name(ACCOUNT)}.id", ondelete="RESTRICT")
    )
    probability: Mapped[Any] = mapped_column(ExactDecimal(2), nullable=True)
    reference: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_hand_created_at", "created_at", "id"),
        Index("ix_hand_updated_at", "updated_at", "id"),
        Index("ix_hand_owner_id", "owner_id", "id"),
        Index("ix_hand_status", "status", "id"),
        Index("ix_hand_account", "account", "id"),
        Index("ix_hand_status_created_at", "status", "created_at", "id"),
    )
    # The ORM's optimistic lock: UPDATE ... WHERE id=? AND lock_version=?, StaleDataError on 0 rows.
    __mapper_args__ = {"version_id_col": lock_version}


_COLUMNS = [column.key for column in HandDeal.__table__.columns]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class HandWritten:
    """Create/read/update with the hand-written model, each in its own session and transaction."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    @staticmethod
    def as_dict(obj: HandDeal) -> dict[str, Any]:
        return {key: getattr(obj, key) for key in _COLUMNS}

    def create(self, values: dict[str, Any]) -> dict[str, Any]:
        name = values.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name is required")
        email = values.get("email")
        if email is not None and not _EMAIL.match(email):
            raise ValueError("email is not a valid e-mail address")
        now = dt.datetime.now(dt.UTC)
        with Session(self.engine) as session, session.begin():
            obj = HandDeal(**values, created_at=now, updated_at=now)
            session.add(obj)
            session.flush()
            session.refresh(obj)  # read the stored row back
            return self.as_dict(obj)

    def read(self, record_id: int) -> dict[str, Any]:
        with Session(self.engine) as session, session.begin():
            obj = session.get(HandDeal, record_id)
            if obj is None:
                raise LookupError(record_id)
            return self.as_dict(obj)

    def update(self, record_id: int, changes: dict[str, Any], expected_version: int) -> dict[str, Any]:
        with Session(self.engine) as session, session.begin():
            obj = session.get(HandDeal, record_id)
            if obj is None:
                raise LookupError(record_id)
            if obj.lock_version != expected_version:
                raise RuntimeError("changed by someone else")
            for key, value in changes.items():
                setattr(obj, key, value)
            obj.updated_at = dt.datetime.now(dt.UTC)
            session.flush()
            return self.as_dict(obj)


class HandCore:
    """The same work with SQLAlchemy Core: checks, one INSERT or UPDATE, the row read back."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.table = cast(Table, HandDeal.__table__)
        self.by_id = select(self.table).where(self.table.c.id == bindparam("record_id"))

    def create(self, values: dict[str, Any]) -> dict[str, Any]:
        name = values.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name is required")
        email = values.get("email")
        if email is not None and not _EMAIL.match(email):
            raise ValueError("email is not a valid e-mail address")
        now = dt.datetime.now(dt.UTC)
        row = {**values, "lock_version": 1, "created_at": now, "updated_at": now}
        with self.engine.begin() as conn:
            record_id = conn.execute(self.table.insert().values(row)).inserted_primary_key[0]
            return dict(conn.execute(self.by_id, {"record_id": record_id}).mappings().one())

    def read(self, record_id: int) -> dict[str, Any]:
        with self.engine.begin() as conn:
            return dict(conn.execute(self.by_id, {"record_id": record_id}).mappings().one())

    def update(self, record_id: int, changes: dict[str, Any], expected_version: int) -> dict[str, Any]:
        table = self.table
        with self.engine.begin() as conn:
            done = conn.execute(
                table.update()
                .where(table.c.id == record_id, table.c.lock_version == expected_version)
                .values(**changes, lock_version=table.c.lock_version + 1, updated_at=dt.datetime.now(dt.UTC))
            )
            if done.rowcount != 1:
                raise RuntimeError("changed by someone else")
            return dict(conn.execute(self.by_id, {"record_id": record_id}).mappings().one())


class Side:
    """One implementation under test, as three callables over the shared workload."""

    def __init__(
        self,
        name: str,
        create: Callable[[dict[str, Any]], dict[str, Any]],
        read: Callable[[int], dict[str, Any]],
        update: Callable[[int, dict[str, Any], int], dict[str, Any]],
    ) -> None:
        self.name = name
        self.create, self.read, self.update = create, read, update

    def run(self, inputs: list[dict[str, Any]], changes: list[dict[str, Any]]) -> dict[str, float]:
        """Do every create, then read and update each created record; returns seconds per phase."""
        times: dict[str, float] = {}
        ids: list[int] = []
        create = self.create
        with quiet_gc():
            started = time.perf_counter()
            for values in inputs:
                ids.append(create(values)["id"])
            times["create"] = time.perf_counter() - started
        read = self.read
        with quiet_gc():
            started = time.perf_counter()
            for record_id in ids:
                read(record_id)
            times["read"] = time.perf_counter() - started
        update = self.update
        with quiet_gc():
            started = time.perf_counter()
            for record_id, change in zip(ids, changes, strict=True):
                update(record_id, change, 1)
            times["update"] = time.perf_counter() - started
        return times


def run(ctx: Context) -> list[Figure]:
    """Time create/read/update on both sides; report runtime/hand-written ratios and µs per op."""
    operations = 1_000 if ctx.quick else 2_000
    site = publish_site(ctx.db_url("records_crud"))
    try:
        Base.metadata.create_all(site.engine, tables=[cast(Table, HandDeal.__table__)])
        account_ids = load_accounts(site)
        runtime = RecordRuntime(site.model(), site.engine)
        hand = HandWritten(site.engine)
        sides = [
            Side(
                "runtime",
                lambda values: runtime.create(ENTITY, values),
                lambda record_id: runtime.get(ENTITY, record_id),
                lambda record_id, change, version: runtime.update(
                    ENTITY, record_id, change, expected_version=version
                ),
            ),
            Side("handwritten", hand.create, hand.read, hand.update),
        ]
        core = HandCore(site.engine)
        sides.append(Side("core", core.create, core.read, core.update))
        rng = random.Random(2)

        def workload(count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            inputs = [sample_values(rng, account_ids, i) for i in range(count)]
            changes = [
                {"status": rng.choice(STATUSES), "quantity": rng.randrange(1, 500)} for _ in range(count)
            ]
            return inputs, changes

        _check_same_result(sides, *workload(1))
        for side in sides:  # warm caches (statement compilation, connection pool, page cache)
            side.run(*workload(WARMUP))

        samples: dict[str, dict[str, list[float]]] = {
            s.name: {"create": [], "read": [], "update": []} for s in sides
        }
        for repeat in range(REPEATS):
            inputs, changes = workload(operations)
            order = sides if repeat % 2 == 0 else list(reversed(sides))
            for side in order:
                for phase, seconds in side.run(inputs, changes).items():
                    samples[side.name][phase].append(seconds / operations * 1e6)
    finally:
        site.engine.dispose()

    figures: list[Figure] = []
    for phase in ("create", "read", "update"):
        ratios = [
            r / h for r, h in zip(samples["runtime"][phase], samples["handwritten"][phase], strict=True)
        ]
        figures.append(
            Figure(f"records.crud.{phase}_ratio", round(median(ratios), 2), "x", TARGET_RATIO, "<=")
        )
    core_ratios = [
        r / c for r, c in zip(samples["runtime"]["create"], samples["core"]["create"], strict=True)
    ]
    figures.append(
        Figure("records.crud.create_vs_core_ratio", round(median(core_ratios), 2), "x", TARGET_RATIO, "<=")
    )
    for phase in ("create", "read", "update"):
        for side_name in ("runtime", "handwritten", "core"):
            figures.append(
                Figure(
                    f"records.crud.{phase}.{side_name}",
                    round(median(samples[side_name][phase]), 1),
                    "us/op",
                    None,
                )
            )
    return figures


def _check_same_result(
    sides: list[Side], inputs: list[dict[str, Any]], changes: list[dict[str, Any]]
) -> None:
    """Both sides store the same values and bump the version on update (a sanity check)."""
    runtime, hand = sides[:2]
    created_r, created_h = runtime.create(inputs[0]), hand.create(inputs[0])
    assert created_r["name"] == created_h["name"] and created_r["email"] == created_h["email"]
    updated_r = runtime.update(created_r["id"], changes[0], 1)
    updated_h = hand.update(created_h["id"], changes[0], 1)
    assert updated_r["lock_version"] == updated_h["lock_version"] == 2
    assert updated_r["status"] == updated_h["status"] == changes[0]["status"]
    for side, record_id in ((runtime, created_r["id"]), (hand, created_h["id"])):
        try:
            side.update(record_id, changes[0], 1)
        except Exception:  # either side's conflict error is fine
            pass
        else:
            raise AssertionError(f"{side.name}: a stale lock_version was accepted")
