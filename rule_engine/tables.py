"""Tables of the rule engine: firing ledger, state history, inbox, webhook outbox, approvals, action log."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from metamodel.coltypes import UTCDateTime

rule_metadata = MetaData()

_ID = BigInteger().with_variant(Integer, "sqlite")

# One row per firing; the unique key makes a firing happen once however many schedulers race for it.
firings = Table(
    "sys_rule_firing",
    rule_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("rule", String(100), nullable=False),
    Column("entity", String(80), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("due_key", String(80), nullable=False),
    Column("fired_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # done | skipped | failed | retry
    Column("detail", Text, nullable=False, default=""),
    # Retry bookkeeping of failed firings whose actions are safe to run again (migration 0110).
    Column("attempts", Integer, nullable=False, default=1),
    Column("next_attempt_at", UTCDateTime),
    UniqueConstraint("rule", "record_id", "due_key", name="uq_sys_rule_firing_key"),
    Index("ix_sys_rule_firing_retry", "status", "next_attempt_at"),
)

state_history = Table(
    "sys_state_history",
    rule_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("entity", String(80), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("workflow", String(80), nullable=False),
    Column("from_state", String(100)),
    Column("to_state", String(100), nullable=False),
    Column("transition", String(80)),
    Column("actor_id", BigInteger),
    Column("at", UTCDateTime, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("is_current", Boolean, nullable=False, default=True),
    Index("ix_sys_state_history_record", "entity", "record_id", "id"),
    Index("ix_sys_state_history_current", "entity", "to_state", "is_current", "at"),
)

approvals = Table(
    "sys_approval",
    rule_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("entity", String(80), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("workflow", String(80), nullable=False),
    Column("transition", String(80), nullable=False),
    Column("role", String(80), nullable=False),
    Column("requested_by", BigInteger),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("status", String(20), nullable=False),  # pending | approved | rejected
    Column("decided_by", BigInteger),
    Column("decided_at", UTCDateTime),
    Column("decision_comment", Text, nullable=False, default=""),
    Index("ix_sys_approval_pending", "entity", "record_id", "status"),
)

inbox = Table(
    "sys_inbox",
    rule_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, nullable=False, index=True),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("entity", String(80)),
    Column("record_id", BigInteger),
    Column("rule", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
)

outbox = Table(
    "sys_outbox",
    rule_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # webhook | email
    Column("rule", String(100)),
    Column("target", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text, nullable=False, default=""),
    Column("response_status", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Index("ix_sys_outbox_due", "status", "next_attempt_at"),
)

action_log = Table(
    "sys_action_log",
    rule_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("rule", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("entity", String(80)),
    Column("record_id", BigInteger),
    Column("status", String(20), nullable=False),  # ok | failed | retrying
    Column("message", Text, nullable=False, default=""),
    Column("at", UTCDateTime, nullable=False),
)

assignment_cursors = Table(
    "sys_assignment_cursor",
    rule_metadata,
    Column("key", String(200), primary_key=True),
    Column("last_user_id", BigInteger),
)

# One row per delivery attempt of an outbox message (webhook or e-mail): the delivery log.
outbox_attempts = Table(
    "sys_outbox_attempt",
    rule_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("outbox_id", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # delivered | retrying | failed
    Column("response_status", Integer),
    Column("error", Text, nullable=False, default=""),
    Column("duration_ms", Integer),
    Index("ix_sys_outbox_attempt_outbox", "outbox_id", "attempt"),
)

# Per time rule: since when its due times count (set on first sight, minus the rule's lookback) and the
# last clock reading at which the scheduler had drained everything due (migration 0140).
rule_watermarks = Table(
    "sys_rule_watermark",
    rule_metadata,
    Column("rule", String(100), primary_key=True),
    Column("since", UTCDateTime, nullable=False),
    Column("drained_to", UTCDateTime),
    Column("backlog", Integer, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The rule-error log (migration 0150): one row per rule and record (0: none) whose firing failed, with the
# latest message, how often and since when; read by admins on the studio's "Rule errors" page.
rule_errors = Table(
    "sys_rule_error",
    rule_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("rule", String(100), nullable=False),
    Column("entity", String(80), nullable=False),
    Column("record_id", BigInteger, nullable=False, default=0),
    Column("action", String(40), nullable=False),
    Column("message", Text, nullable=False),
    Column("count", Integer, nullable=False, default=1),
    Column("first_at", UTCDateTime, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
    UniqueConstraint("rule", "record_id", name="uq_sys_rule_error_key"),
    Index("ix_sys_rule_error_last", "last_at"),
)

# Per rule: consecutive failed firings, and the runtime switch that stops a rule failing forever (an admin
# switches it back on from the studio; the published metadata is not touched).
rule_health = Table(
    "sys_rule_health",
    rule_metadata,
    Column("rule", String(100), primary_key=True),
    Column("consecutive", Integer, nullable=False, default=0),
    Column("disabled_at", UTCDateTime),
    Column("disabled_reason", Text, nullable=False, default=""),
)

# Recomputing formula and roll-up fields of existing records (after a publish, or ``crm recompute``):
# one row per job, advanced batch by batch in id order so a stopped job resumes (migration 0160).
rule_backfills = Table(
    "sys_rule_backfill",
    rule_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entity", String(80), nullable=False),
    Column("fields", JSON, nullable=False),  # the fields to compute, in order
    Column("status", String(20), nullable=False),  # pending | running | done | failed
    Column("total", BigInteger, nullable=False, default=0),
    Column("done", BigInteger, nullable=False, default=0),
    Column("last_id", BigInteger, nullable=False, default=0),
    Column("reason", String(200), nullable=False, default=""),
    Column("error", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_sys_rule_backfill_status", "status", "id"),
)
