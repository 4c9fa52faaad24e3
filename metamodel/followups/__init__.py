"""Follow-up notes of records (跟进记录): stored notes plus the record fields time rules read."""

from metamodel.followups.config import FOLLOWUP_KINDS, FollowupConfig, check_followups, followup_config
from metamodel.followups.store import Followup, add_followup, followups_of

__all__ = [
    "FOLLOWUP_KINDS",
    "Followup",
    "FollowupConfig",
    "add_followup",
    "check_followups",
    "followup_config",
    "followups_of",
]
