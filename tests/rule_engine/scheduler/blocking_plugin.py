"""A test action: the ``checkpoint`` action blocks forever on one chosen record, to be killed mid-firing."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from rule_engine.actions.base import Action, ActionContext


class Checkpoint(Action):
    """Announces ``BLOCKED <id>`` on stdout and hangs when the record id equals $CRM_TEST_BLOCK_AT."""

    type = "checkpoint"
    schema: ClassVar[dict[str, Any]] = {"type": "object"}

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        if str(ctx.record.get("id")) == os.environ.get("CRM_TEST_BLOCK_AT"):
            print(f"BLOCKED {ctx.record['id']}", flush=True)
            sys.stdout.flush()
            threading.Event().wait()  # until SIGKILL
        return "passed"
