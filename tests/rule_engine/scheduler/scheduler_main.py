"""A real scheduler process for the exactly-once tests: ``--once`` ticks once, else it runs forever.

Environment: CRM_TEST_DB_URL, CRM_TEST_NOW (ISO time of the fake clock), CRM_RULE_PLUGINS (modules).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

from rule_engine.scheduler.service import SchedulerService
from rule_engine.testing.world import make_world


def main(argv: list[str]) -> int:
    """Build the scheduler on the test database and run it."""
    world = make_world(
        os.environ["CRM_TEST_DB_URL"],
        None,
        plugins=os.environ.get("CRM_RULE_PLUGINS", "").split(","),
        now=dt.datetime.fromisoformat(os.environ["CRM_TEST_NOW"]),
    )
    service = SchedulerService(
        world.db, world.metadata, world.rules, world.hooks, interval=0.05, clock=world.clock, limit=10_000
    )
    if "--once" in argv:
        print(json.dumps(service.tick()), flush=True)
    else:
        service.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
