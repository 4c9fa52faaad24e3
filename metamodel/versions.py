"""Drafts, publishing, numbered versions, diffs and rollback of site metadata."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.exc import IntegrityError

from metamodel.crypto.checks import check_encryption
from metamodel.crypto.sealing import NO_SEALING, Sealing
from metamodel.database import write_transaction
from metamodel.datachecks import DataChecks, DataFinding, findings_by_severity
from metamodel.datamaps import OptionMap, apply_option_map, check_option_map
from metamodel.definitions import DOCUMENT_KINDS, Bundle
from metamodel.diff import diff_bundles
from metamodel.documents import check_document
from metamodel.errors import Conflict, MetadataInvalid, NotFound, Problem, SchemaChangeRefused
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.model import SiteModel
from metamodel.records.base import ACTIVE_VERSION, VersionGuard
from metamodel.schema_sync import SchemaSync, SyncReport
from metamodel.sitesettings import effective_zone_sql, zone_of
from metamodel.systables import meta_drafts, meta_state, meta_versions
from metamodel.validation import BundleCheck, assign_ids, validate_bundle


def utcnow() -> dt.datetime:
    """Return the current time in UTC."""
    return dt.datetime.now(dt.UTC)


def fingerprint(doc: Any) -> str:
    """Return a short stable digest of a draft document ("" for none): the base an editor started from."""
    if doc is None:
        return ""
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class StaleDraft(Conflict):
    """Someone else saved the draft document since this editor loaded it; nothing was overwritten."""

    code = "stale_draft"


@dataclass(frozen=True)
class VersionInfo:
    """Who published a version, when, why, and what the schema sync did."""

    number: int
    created_at: dt.datetime
    created_by: str | None
    comment: str
    action: str
    source_version: int | None
    changes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape used by the API."""
        return {
            "number": self.number,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "created_by": self.created_by,
            "comment": self.comment,
            "action": self.action,
            "source_version": self.source_version,
            "changes": list(self.changes),
        }


@dataclass(frozen=True)
class Published:
    """What ``on_publish`` listeners are told, inside the publishing transaction."""

    conn: Connection
    info: VersionInfo
    previous: Bundle  # the metadata active before this version
    bundle: Bundle
    previous_version: int | None


LATEST_SECONDS = 1.0


class ModelOutdated(Exception):
    """A request's compiled metadata is no longer the active version: run it again with the new one."""


def _require_version(number: int | None, model: SiteModel) -> None:
    if (number or 0) != model.version:
        raise ModelOutdated(f"metadata version {number} is active; the request used {model.version}")


class MetadataService:
    """Reads and changes site metadata; publishing syncs the schema in the same transaction."""

    def __init__(
        self,
        engine: Engine,
        registry: FieldTypeRegistry,
        checks: Iterable[BundleCheck] = (),
        sealing: Sealing = NO_SEALING,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.sealing = sealing  # how sensitive fields are stored; handed in at start-up
        self.checks = [*checks, lambda bundle: check_encryption(bundle, registry, sealing)]
        self._sync = SchemaSync(registry, sealing)
        self.datachecks = DataChecks(registry, sealing)
        self._models: dict[int, SiteModel] = {}
        self._lock = threading.Lock()
        self._active_number = select(meta_state.c.active_version).where(meta_state.c.id == 1)
        self._active_column = self._active_number.scalar_subquery().label(ACTIVE_VERSION)
        self._version_and_zone = select(
            select(meta_state.c.active_version).where(meta_state.c.id == 1).scalar_subquery(),
            effective_zone_sql(),
        )
        self._checked_at = 0.0
        # Called with a Published event in the publish's transaction (the audit log listens here).
        self.on_publish: list[Callable[[Published], None]] = []

    # --- drafts ---------------------------------------------------------------------------
    def draft(self, conn: Connection | None = None) -> Bundle:
        """Return the draft bundle (equal to the active version until someone edits it)."""
        if conn is not None:
            return self._draft(conn)
        with self.engine.connect() as new_conn:
            return self._draft(new_conn)

    def _draft(self, conn: Connection) -> Bundle:
        bundle = Bundle()
        for row in conn.execute(select(meta_drafts)):
            bundle.documents.setdefault(row.kind, {})[row.name] = row.body
        return bundle

    def document_fingerprint(self, kind: str, name: str) -> str:
        """Return the fingerprint of one draft document ("" when the draft has none)."""
        return fingerprint(self.draft().documents.get(kind, {}).get(name))

    def put_document(
        self, kind: str, name: str, doc: Any, user: str | None, base: str | None = None
    ) -> dict[str, Any]:
        """Store one draft document after checking its shape; returns it with ids filled in.

        With ``base`` (the fingerprint the editor loaded), a document changed by someone else since is
        refused with StaleDraft instead of being overwritten.
        """
        if kind not in DOCUMENT_KINDS:
            raise NotFound(f"unknown document kind '{kind}'; use one of {', '.join(DOCUMENT_KINDS)}")
        # A copy: ids are filled in below, and the caller's dict (often a module constant) must not change.
        doc = copy.deepcopy(doc)
        if isinstance(doc, dict) and "name" not in doc:
            doc["name"] = name
        problems = check_document(kind, doc, f"{kind}.{name}")
        if not problems and doc.get("name") != name:
            problems.append(Problem(f"{kind}.{name}.name", f"must equal the document key '{name}'", "name"))
        if problems:
            raise MetadataInvalid(f"the {kind} document '{name}' is not valid", problems)
        with write_transaction(self.engine) as conn:
            if base is not None:
                self._check_base(conn, kind, name, base)
            previous = self._draft(conn)
            single = Bundle()
            single.documents[kind][name] = doc
            if kind == "entity":
                assign_ids(single, previous)
            conn.execute(
                delete(meta_drafts).where((meta_drafts.c.kind == kind) & (meta_drafts.c.name == name))
            )
            conn.execute(
                meta_drafts.insert().values(
                    kind=kind, name=name, body=doc, updated_at=utcnow(), updated_by=user
                )
            )
        stored: dict[str, Any] = doc
        return stored

    def _check_base(self, conn: Connection, kind: str, name: str, base: str) -> None:
        row = conn.execute(
            select(meta_drafts.c.body, meta_drafts.c.updated_by)
            .where((meta_drafts.c.kind == kind) & (meta_drafts.c.name == name))
            .with_for_update()
        ).first()
        if fingerprint(row.body if row is not None else None) != base:
            raise StaleDraft(
                f"the draft {kind} '{name}' was changed by {row.updated_by if row else 'someone'} "
                "after you opened it; nothing was saved, reload to see their change",
                changed_by=row.updated_by if row is not None else None,
            )

    def delete_document(self, kind: str, name: str) -> None:
        """Remove one document from the draft."""
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                delete(meta_drafts).where((meta_drafts.c.kind == kind) & (meta_drafts.c.name == name))
            )
            if result.rowcount == 0:
                raise NotFound(f"the draft has no {kind} '{name}'")

    def replace_draft(self, bundle: Bundle, user: str | None) -> None:
        """Replace the whole draft (import); documents keep ids matched by name."""
        problems: list[Problem] = []
        for kind, docs in bundle.documents.items():
            for name, doc in docs.items():
                problems += check_document(kind, doc, f"{kind}.{name}")
        if problems:
            raise MetadataInvalid("the imported metadata is not valid", problems)
        with write_transaction(self.engine) as conn:
            assign_ids(bundle, self._draft(conn))
            self._write_draft(conn, bundle, user)

    def _write_draft(self, conn: Connection, bundle: Bundle, user: str | None) -> None:
        conn.execute(delete(meta_drafts))
        now = utcnow()
        rows = [
            {"kind": kind, "name": name, "body": doc, "updated_at": now, "updated_by": user}
            for kind, docs in bundle.documents.items()
            for name, doc in docs.items()
        ]
        if rows:
            conn.execute(meta_drafts.insert(), rows)

    def discard_draft(self) -> None:
        """Reset the draft to the active version."""
        with write_transaction(self.engine) as conn:
            self._write_draft(conn, self._active_bundle(conn), None)

    def validate_draft(self) -> list[Problem]:
        """Return every problem of the draft as a whole."""
        return validate_bundle(self.draft(), self.registry, self.checks)

    def check_draft_data(self, remap: Any = None) -> tuple[list[Problem], list[DataFinding]]:
        """Return the option map's problems and what publishing the draft would do to stored records."""
        with self.engine.connect() as conn:
            draft = self._draft(conn)
            problems = check_option_map(draft, remap)
            if problems or validate_bundle(draft, self.registry, self.checks):
                return problems, []  # data checks need a valid draft and map
            return [], self.datachecks.findings(conn, self._active_bundle(conn), draft, remap or {})

    # --- publishing -----------------------------------------------------------------------
    def publish(self, user: str | None, comment: str = "", remap: OptionMap | None = None) -> VersionInfo:
        """Validate the draft, sync the schema and store a new numbered version, all or nothing.

        ``remap`` maps removed select options still in use to remaining ones (see metamodel.datamaps).
        """
        with write_transaction(self.engine) as conn:
            bundle = self._draft(conn)
            return self._publish(conn, bundle, user, comment, "publish", None, remap)

    def publish_bundle(
        self, conn: Connection, bundle: Bundle, user: str | None, comment: str = ""
    ) -> VersionInfo:
        """Validate and publish ``bundle`` (it becomes the draft) inside the caller's transaction.

        For callers that must write more in the same transaction, e.g. a pack's roles and records.
        """
        return self._publish(conn, bundle, user, comment, "publish", None)

    def rollback(self, number: int, user: str | None, comment: str = "") -> VersionInfo:
        """Publish the metadata of version ``number`` again as a new version; record data is kept."""
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(meta_versions).where(meta_versions.c.number == number)).first()
            if row is None:
                raise NotFound(f"version {number} does not exist")
            bundle = Bundle.from_json(row.bundle)
            info = self._publish(
                conn, bundle, user, comment or f"rollback to version {number}", "rollback", number
            )
            self._write_draft(conn, bundle, user)
            return info

    def _publish(
        self,
        conn: Connection,
        bundle: Bundle,
        user: str | None,
        comment: str,
        action: str,
        source: int | None,
        remap: OptionMap | None = None,
    ) -> VersionInfo:
        problems = validate_bundle(bundle, self.registry, self.checks) + check_option_map(bundle, remap)
        if problems:
            raise MetadataInvalid(
                f"the metadata has {len(problems)} problem(s); nothing was published", problems
            )
        state = conn.execute(select(meta_state).where(meta_state.c.id == 1).with_for_update()).first()
        previous = self._active_bundle(conn)
        # Data checks the schema sync does not make itself (conversions and duplicates it refuses).
        self._refuse_data_loss(conn, previous, bundle, remap or {})
        report: SyncReport = self._sync.apply(conn, bundle)
        if remap:
            report.changes += apply_option_map(conn, bundle, remap, self.registry, self.sealing)
        number = (conn.execute(select(func.max(meta_versions.c.number))).scalar() or 0) + 1
        now = utcnow()
        try:
            conn.execute(
                meta_versions.insert().values(
                    number=number,
                    created_at=now,
                    created_by=user,
                    comment=comment,
                    action=action,
                    source_version=source,
                    bundle=bundle.to_json(),
                )
            )
        except IntegrityError:
            raise Conflict("another publish finished first; reload and try again") from None
        if state is None:
            conn.execute(meta_state.insert().values(id=1, active_version=number))
        else:
            conn.execute(meta_state.update().where(meta_state.c.id == 1).values(active_version=number))
        if action == "publish":
            self._write_draft(conn, bundle, user)
        info = VersionInfo(number, now, user, comment, action, source, tuple(report.changes))
        for listener in self.on_publish:
            listener(Published(conn, info, previous, bundle, state.active_version if state else None))
        self._checked_at = 0.0  # this worker asks for the active version on its next request
        return info

    def _refuse_data_loss(self, conn: Connection, previous: Bundle, bundle: Bundle, remap: OptionMap) -> None:
        errors, _warnings = findings_by_severity(
            self.datachecks.findings(conn, previous, bundle, remap, full=False)
        )
        if errors:
            raise SchemaChangeRefused(
                f"{errors[0].message}; nothing was published",
                [Problem(f.path, f.message, f.code) for f in errors],
                findings=[f.as_dict() for f in errors],
            )

    def resync(self) -> list[str]:
        """Apply the active version to the tables again (e.g. to encrypt after encryption was switched on)."""
        with write_transaction(self.engine) as conn:
            conn.execute(select(meta_state).where(meta_state.c.id == 1).with_for_update()).first()
            return self._sync.apply(conn, self._active_bundle(conn)).changes

    def purge(self) -> list[str]:
        """Drop set-aside tables and columns of removed fields for good."""
        with write_transaction(self.engine) as conn:
            return self._sync.purge(conn).changes

    # --- reading versions -----------------------------------------------------------------
    def active_version(self) -> int | None:
        """Return the active version number, or None before the first publish."""
        with self.engine.connect() as conn:
            return conn.execute(select(meta_state.c.active_version).where(meta_state.c.id == 1)).scalar()

    def _active_bundle(self, conn: Connection) -> Bundle:
        number = conn.execute(select(meta_state.c.active_version).where(meta_state.c.id == 1)).scalar()
        if number is None:
            return Bundle()
        body = conn.execute(
            select(meta_versions.c.bundle).where(meta_versions.c.number == number)
        ).scalar_one()
        return Bundle.from_json(body)

    def versions(self) -> list[VersionInfo]:
        """Return every version, newest first."""
        columns = [c for c in meta_versions.c if c.name != "bundle"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*columns).order_by(meta_versions.c.number.desc())).all()
        return [
            VersionInfo(r.number, r.created_at, r.created_by, r.comment, r.action, r.source_version)
            for r in rows
        ]

    def bundle_of(self, number: int) -> Bundle:
        """Return the metadata of version ``number``."""
        with self.engine.connect() as conn:
            body = conn.execute(
                select(meta_versions.c.bundle).where(meta_versions.c.number == number)
            ).scalar()
        if body is None:
            raise NotFound(f"version {number} does not exist")
        return Bundle.from_json(body)

    def diff(self, a: int | str, b: int | str) -> list[dict[str, Any]]:
        """Return the changes from version ``a`` to version ``b`` (either may be 'draft')."""
        return diff_bundles(self._bundle_ref(a), self._bundle_ref(b))

    def _bundle_ref(self, ref: int | str) -> Bundle:
        if ref == "draft":
            return self.draft()
        try:
            return self.bundle_of(int(ref))
        except ValueError:
            raise NotFound(f"'{ref}' is neither a version number nor 'draft'") from None

    def latest(self) -> SiteModel:
        """Return the active version, asking the database at most every LATEST_SECONDS.

        Record transactions check the version they see anyway (``ensure_current``); this bounds how
        long reads of metadata alone (menus, dashboards) may lag another worker's publish.
        """
        models = self._models
        if models and time.monotonic() - self._checked_at < LATEST_SECONDS:
            return next(iter(models.values()))
        return self.model()

    def ensure_current(self, conn: Connection, model: SiteModel) -> None:
        """Raise ModelOutdated unless ``model`` is the active version as ``conn``'s transaction sees it."""
        _require_version(conn.execute(self._active_number).scalar(), model)

    def guard(self, model: SiteModel) -> VersionGuard:
        """Return the check by which record transactions confirm they see ``model``'s version."""
        return VersionGuard(
            lambda conn: self.ensure_current(conn, model),
            self._active_column,
            lambda number: _require_version(number, model),
        )

    def model(self) -> SiteModel:
        """Return the compiled active version (cached per version number) with the site's time zone."""
        with self.engine.connect() as conn:
            # One round trip reads the version and the time-zone setting, so a changed zone is seen as
            # soon as a changed version is.
            found = conn.execute(self._version_and_zone).first()
            number, zone = (found[0], found[1]) if found else (None, None)
            cached = self._models.get(number or 0)
            if cached is not None:
                cached.time_zone = zone_of(zone)
                self._checked_at = time.monotonic()
                return cached
            bundle = self._active_bundle(conn)
        model = SiteModel(number or 0, bundle, self.registry, self.sealing)
        model.time_zone = zone_of(zone)
        with self._lock:
            self._models = {number or 0: model}
        self._checked_at = time.monotonic()
        return model
