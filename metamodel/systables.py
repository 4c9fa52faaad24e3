"""The platform's own tables (users, metadata drafts and versions, physical schema state, counters)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from metamodel.coltypes import UTCDateTime

system_metadata = MetaData()

users = Table(
    "sys_user",
    system_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("display_name", String(200), nullable=False, default=""),
    Column("email", String(255)),
    Column("locale", String(10), nullable=False, default="en"),
    Column("time_zone", String(64)),  # the user's own zone for showing datetimes; NULL: the site's
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Set by an administrator's password reset: the next sign-in must choose a new password.
    Column("must_change_password", Boolean, nullable=False, default=False, server_default=false()),
    # RFC 6238 secret (base32); kept in clear, so database backups must be protected like passwords.
    Column("totp_secret", String(64)),
    Column("totp_enabled", Boolean, nullable=False, default=False, server_default=false()),
    Column("totp_last_step", BigInteger),  # the last accepted time step, so a code works only once
)

api_tokens = Table(
    "sys_api_token",
    system_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, ForeignKey("sys_user.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("scopes", String(200)),  # space-separated; NULL (tokens from before scopes) means every scope
    Column("last_used_at", UTCDateTime),
)

# Every sign-in attempt with its time, address and outcome (an audit trail of sign-ins).
login_attempts = Table(
    "sys_login_attempt",
    system_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("username", String(80), nullable=False, index=True),
    Column("user_id", BigInteger),  # NULL when no such user exists
    Column("ip", String(64), nullable=False),
    Column("outcome", String(20), nullable=False),  # success | bad_password | bad_code | locked
)

# Failure counters of sign-in per user name and per client address ("user:NAME", "ip:ADDR").
auth_throttle = Table(
    "sys_auth_throttle",
    system_metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime),
)

# Request counts per API client ("token:ID", "user:ID", "ip:ADDR") in the current fixed window.
rate_limits = Table(
    "sys_rate_limit",
    system_metadata,
    Column("key", String(200), primary_key=True),
    Column("window_start", BigInteger, nullable=False),  # seconds since the epoch
    Column("count", Integer, nullable=False),
)

meta_drafts = Table(
    "sys_meta_draft",
    system_metadata,
    Column("kind", String(20), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(80)),
)

meta_versions = Table(
    "sys_meta_version",
    system_metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(80)),
    Column("comment", Text, nullable=False, default=""),
    Column("action", String(20), nullable=False),  # publish | rollback | import
    Column("source_version", Integer),
    Column("bundle", JSON, nullable=False),
)

meta_state = Table(
    "sys_meta_state",
    system_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("active_version", Integer, nullable=False),
)

physical_tables = Table(
    "sys_physical_table",
    system_metadata,
    Column("entity_id", String(40), primary_key=True),
    Column("table_name", String(80), nullable=False, unique=True),
    Column("status", String(10), nullable=False),  # active | removed
)

physical_columns = Table(
    "sys_physical_column",
    system_metadata,
    Column("entity_id", String(40), primary_key=True),
    Column("field_id", String(40), primary_key=True),
    Column("column_name", String(80), nullable=False),
    Column("field_name", String(80), nullable=False),
    Column("signature", String(200), nullable=False),
    Column("status", String(10), nullable=False),  # active | removed | backup
    Column("definition", JSON, nullable=False),  # the field definition the column was last synced to
    UniqueConstraint("entity_id", "column_name", name="uq_sys_physical_column_name"),
)

sequences = Table(
    "sys_sequence",
    system_metadata,
    Column("key", String(200), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

attachments = Table(
    "sys_attachment",
    system_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(255), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", BigInteger),
)

roles = Table(
    "sys_role",
    system_metadata,
    Column("name", String(80), primary_key=True),
    Column("label", JSON, nullable=False, default=dict),
)

user_roles = Table(
    "sys_user_role",
    system_metadata,
    Column("user_id", BigInteger, ForeignKey("sys_user.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(80), ForeignKey("sys_role.name", ondelete="CASCADE"), primary_key=True),
)

teams = Table(
    "sys_team",
    system_metadata,
    Column("name", String(80), primary_key=True),
    Column("label", JSON, nullable=False, default=dict),
)

team_members = Table(
    "sys_team_member",
    system_metadata,
    Column("team", String(80), ForeignKey("sys_team.name", ondelete="CASCADE"), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("sys_user.id", ondelete="CASCADE"), primary_key=True),
)

# --- access control: org units, role permissions, time-limited role grants, record shares ---------

org_units = Table(
    "sys_org_unit",
    system_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("label", JSON, nullable=False, default=dict),
    Column("parent_id", BigInteger, ForeignKey("sys_org_unit.id"), index=True),
)

# Closure table: one row per (ancestor, descendant) pair, the unit itself included (depth 0), so
# "owner's unit is in my subtree" is one indexed lookup, whatever the depth of the tree.
org_unit_tree = Table(
    "sys_org_unit_tree",
    system_metadata,
    Column("ancestor_id", BigInteger, ForeignKey("sys_org_unit.id", ondelete="CASCADE"), primary_key=True),
    Column("descendant_id", BigInteger, ForeignKey("sys_org_unit.id", ondelete="CASCADE"), primary_key=True),
    Column("depth", Integer, nullable=False),
    Index("ix_sys_org_unit_tree_descendant", "descendant_id", "ancestor_id"),
)

user_org_units = Table(
    "sys_user_org_unit",
    system_metadata,
    Column("user_id", BigInteger, ForeignKey("sys_user.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", BigInteger, ForeignKey("sys_org_unit.id"), nullable=False),
    Index("ix_sys_user_org_unit_unit", "unit_id", "user_id"),
)

role_permissions = Table(
    "sys_role_permission",
    system_metadata,
    Column("role", String(80), ForeignKey("sys_role.name", ondelete="CASCADE"), primary_key=True),
    Column("entity", String(80), primary_key=True),  # an entity name or '*'
    Column("operation", String(20), primary_key=True),
    Column("scope", String(20), nullable=False),  # own | org_unit | org_subtree | all
)

# Field-level security: per role, a field of an entity is hidden, readonly or masked (with a mask
# style, else the field's); ``reveal`` lets the role fetch the clear value through an audited call.
field_permissions = Table(
    "sys_field_permission",
    system_metadata,
    Column("role", String(80), ForeignKey("sys_role.name", ondelete="CASCADE"), primary_key=True),
    Column("entity", String(80), primary_key=True),
    Column("field", String(80), primary_key=True),
    Column("access", String(20), nullable=False),  # hidden | readonly | masked
    Column("mask", String(40)),
    Column("reveal", Boolean, nullable=False, default=False),
)

# Expiry of a sys_user_role row (absent: the role is held until revoked).
user_role_expiry = Table(
    "sys_user_role_expiry",
    system_metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("role", String(80), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(
        ["user_id", "role"], ["sys_user_role.user_id", "sys_user_role.role"], ondelete="CASCADE"
    ),
)

record_shares = Table(
    "sys_record_share",
    system_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entity_id", String(40), nullable=False),  # the entity's stable id: renames keep shares
    Column("record_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, ForeignKey("sys_user.id", ondelete="CASCADE")),
    Column("team", String(80), ForeignKey("sys_team.name", ondelete="CASCADE")),
    Column("permission", String(10), nullable=False),  # read | write
    Column("expires_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", BigInteger),
    CheckConstraint("(user_id IS NULL) <> (team IS NULL)", name="ck_sys_record_share_grantee"),
    Index("ix_sys_record_share_user", "user_id", "entity_id", "record_id"),
    Index("ix_sys_record_share_team", "team", "entity_id", "record_id"),
    Index("ix_sys_record_share_record", "entity_id", "record_id"),
)

# One row (id 1) once access control is switched on; until then non-admin users keep full access,
# so a site that has not configured roles yet behaves as before.
access_state = Table(
    "sys_access_state",
    system_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("enforced", Boolean, nullable=False),
)

# --- audit log: append-only (the app never updates or deletes; database triggers refuse it) --------

audit_log = Table(
    "sys_audit",
    system_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    # No foreign key: the trail outlives the users it names, and actor_name keeps who it was.
    Column("actor_id", BigInteger),
    Column("actor_name", String(80)),
    Column("origin", String(64)),  # client address, "cli", "scheduler" or NULL (system)
    Column("action", String(30), nullable=False),
    Column("entity", String(80)),
    Column("record_id", BigInteger),
    Column("summary", Text, nullable=False, default=""),
    Column("changes", JSON),  # {field: [before, after]}; sensitive values masked
    Index("ix_sys_audit_record", "entity", "record_id", "id"),
    Index("ix_sys_audit_at", "at"),
)

# --- lead pool: who holds a pooled entity's record since when, and whether she claimed it ----------

# One row per record of a pool entity whose owner was set by a claim or a later change of owner.
# ``since`` starts the follow-up clock of the auto-return; ``claimed`` rows count against the claim
# limit while their user still owns the record (a row whose user no longer owns it is stale and ignored).
pool_holdings = Table(
    "sys_pool_holding",
    system_metadata,
    Column("entity_id", String(40), primary_key=True),  # the entity's stable id
    Column("record_id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("claimed", Boolean, nullable=False),
    Index("ix_sys_pool_holding_user", "entity_id", "user_id", "claimed"),
)

# --- industry packs: one row per installed pack ------------------------------------------------------

packs = Table(
    "sys_pack",
    system_metadata,
    Column("name", String(40), primary_key=True),
    Column("version", String(40), nullable=False),
    # installed | removed (uninstalled without purge: the row remembers entity and field ids, so a
    # re-install re-attaches the kept tables)
    Column("status", String(20), nullable=False, default="installed"),
    Column("installed_at", UTCDateTime, nullable=False),
    Column("installed_by", String(80)),
    Column("metadata_version", Integer),  # the metadata version the install or upgrade published
    Column("manifest", JSON, nullable=False),
    # The pack's documents, roles and translations as installed: the base of a 3-way upgrade.
    Column("documents", JSON, nullable=False),
)

# --- personal reports: a user's own report documents, seen by her only ------------------------------

# Shared reports are metadata documents (draft, publish, versions); a personal one is the user's own
# working copy and needs no configure permission, so it lives here, checked like a report document.
personal_reports = Table(
    "sys_personal_report",
    system_metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("name", String(40), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

personal_dashboards = Table(
    "sys_personal_dashboard",
    system_metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("name", String(40), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- sign-in sessions: one row per signed-in browser; deleting it ends that session at once ----------

sessions = Table(
    "sys_session",
    system_metadata,
    # SHA-256 of the random key in the session cookie: a database read gives no usable cookie.
    Column("id", String(64), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("sys_user.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False, index=True),
)

# --- saved list views: a user's named filters, sort and columns of one entity's list -----------------

# Personal (shared_roles empty) or shared by an administrator to the users holding any of shared_roles.
saved_views = Table(
    "sys_saved_view",
    system_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entity", String(80), nullable=False),
    Column("owner_id", BigInteger, ForeignKey("sys_user.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(80), nullable=False),
    Column("query", JSON, nullable=False),  # the list's query-string arguments (filters, q, sort)
    Column("columns", JSON, nullable=False),  # the chosen column names, in order ([] = the default)
    Column("shared_roles", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_sys_saved_view_entity", "entity", "owner_id"),
)

# --- follow-up notes (跟进记录) of records: a call, visit or message, and when to follow up next -------

# The newest note's time and next date are also written to the entity's configured fields, which the
# pool's auto-return and time triggers read; this table keeps every note for the record's timeline.
followups = Table(
    "sys_followup",
    system_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entity", String(80), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False),  # call | visit | message | note
    Column("body", Text, nullable=False),
    Column("next_date", Date),
    Column("author_id", BigInteger),  # no foreign key: notes outlive the users who wrote them
    Column("at", UTCDateTime, nullable=False),
    Index("ix_sys_followup_record", "entity", "record_id", "id"),
)
