"""Keeping a failing plugin from harming the platform: its status, and guarded record hooks.

* ``register`` raising: the plugin is skipped (nothing it staged is applied), logged, listed as failed.
* A **before-save** or **before-delete** hook raising: the save or delete is refused with
  ``PluginHookFailed`` (HTTP 422 ``plugin_failed``) and its transaction rolls back, so nothing is
  half-written. A CrmError the hook raises on purpose (e.g. RecordInvalid) passes through unchanged:
  that is how a plugin refuses a save.
* An **after-save** hook raising: the record is already valid and written, so the save stands; the
  hook runs in a savepoint, whatever it wrote is rolled back to it, and the failure is logged and
  counted in the plugin's status (``hook_errors``, ``last_hook_error``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from metamodel.errors import CrmError
from metamodel.records.hooks import DeleteHook, SaveEvent, SaveHook

log = logging.getLogger("plugins")


class PluginHookFailed(CrmError):
    """A plugin's before-save or before-delete hook failed; the operation was not carried out."""

    code = "plugin_failed"
    status = 422


@dataclass
class PluginStatus:
    """One plugin as the platform sees it: where it came from and whether it is running."""

    name: str
    version: str = ""
    source: str = ""  # bundled | entry point | module (CRM_ACTION_PLUGINS)
    status: str = "active"  # active | failed | disabled | missing
    error: str | None = None
    hook_errors: int = 0
    last_hook_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def hook_failed(self, what: str, exc: BaseException) -> str:
        """Count a failed hook; return the one-line description logged and shown."""
        message = f"{what}: {type(exc).__name__}: {exc}"
        with self._lock:
            self.hook_errors += 1
            self.last_hook_error = message
        return message

    def as_dict(self) -> dict[str, Any]:
        """Return the listing entry (API and CLI)."""
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "status": self.status,
            "error": self.error,
            "hook_errors": self.hook_errors,
            "last_hook_error": self.last_hook_error,
        }


def guard_before_save(status: PluginStatus, hook: SaveHook) -> SaveHook:
    """Wrap a before-save hook: an unexpected error refuses the save with PluginHookFailed."""
    return _refusing(status, hook, "before_save", "saved")


def guard_before_delete(status: PluginStatus, hook: DeleteHook) -> DeleteHook:
    """Wrap a before-delete hook: an unexpected error refuses the delete with PluginHookFailed."""
    return _refusing(status, hook, "before_delete", "deleted")


def _refusing(
    status: PluginStatus, hook: Callable[[Any], None], kind: str, done: str
) -> Callable[[Any], None]:
    # A CrmError is the plugin refusing on purpose (its message stands); anything else is a failure.
    def guarded(event: Any) -> None:
        try:
            hook(event)
        except CrmError:
            raise
        except Exception as exc:
            message = status.hook_failed(f"{kind} of {event.entity.name}", exc)
            log.exception("plugin %s failed: %s", status.name, message)
            raise PluginHookFailed(
                f"the {event.entity.name} record was not {done}: plugin '{status.name}' failed ({type(exc).__name__})",
                plugin=status.name,
            ) from None

    return guarded


def guard_after_save(status: PluginStatus, hook: SaveHook) -> SaveHook:
    """Wrap an after-save hook: it runs in a savepoint; an error undoes its writes and is only logged."""

    def guarded(event: SaveEvent) -> None:
        try:
            with event.conn.begin_nested():
                hook(event)
        except Exception as exc:
            message = status.hook_failed(f"after_save of {event.entity.name}", exc)
            log.exception("plugin %s failed (the save stands): %s", status.name, message)

    return guarded


__all__ = ["PluginHookFailed", "PluginStatus", "guard_after_save", "guard_before_delete", "guard_before_save"]
