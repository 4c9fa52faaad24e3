"""The audit log: who changed what, when and from where, append-only in ``sys_audit``.

Record changes are written by record hooks inside the change's own transaction, so a rolled-back
save leaves no entry and a committed one always has its entry. Metadata publishes, sign-ins and
access changes are written by small functions their code paths call.
"""

from metamodel.audit.auditors import AUDITOR_ROLE, may_audit
from metamodel.audit.csvexport import csv_lines
from metamodel.audit.log import (
    ACTIONS,
    record_access_change,
    record_sign_in,
    record_sign_out,
    write_entry,
)
from metamodel.audit.masking import mask_value
from metamodel.audit.metadata import record_publish
from metamodel.audit.query import AuditQuery, browse, iterate
from metamodel.audit.records import install_record_audit

__all__ = [
    "ACTIONS",
    "AUDITOR_ROLE",
    "AuditQuery",
    "browse",
    "csv_lines",
    "install_record_audit",
    "iterate",
    "mask_value",
    "may_audit",
    "record_access_change",
    "record_publish",
    "record_sign_in",
    "record_sign_out",
    "write_entry",
]
