"""A real scheduler process for the exactly-once tests: ``--once`` ticks once, else it runs forever.

Environment: CRM_TEST_DB_URL, CRM_TEST_NOW (ISO time of the fake clock); the ``checkpoint`` action is
the blocking one of blocking_plugin.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

from rule_engine.scheduler.claiming import Timeouts
from rule_engine.scheduler.service import SchedulerService
from rule_engine.testing.world import make_world
from tests.rule_engine.scheduler.blocking_plugin import Checkpoint


def main(argv: list[str]) -> int:
    """Build the scheduler on the test database and run it."""
    world = make_world(
        os.environ["CRM_TEST_DB_URL"],
        None,
        actions=[Checkpoint],
        now=dt.datetime.fromisoformat(os.environ["CRM_TEST_NOW"]),
    )
    idle_ms = int(os.environ.get("CRM_TEST_IDLE_MS") or 60_000)
    service = SchedulerService(
        world.db,
        world.metadata,
        world.rules,
        world.hooks,
        interval=0.05,
        clock=world.clock,
        limit=10_000,
        timeouts=Timeouts(lock_ms=10_000, idle_ms=idle_ms),
    )
    if "--once" in argv:
        print(json.dumps(service.tick()), flush=True)
    else:
        service.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
