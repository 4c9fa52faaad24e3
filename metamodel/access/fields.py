"""Field rules: per role a field is hidden, masked or read-only; what a user with several roles gets.

A user's access to a field of an entity is the most permissive one among her roles that grant any
operation on that entity (directly or through '*'): a role without a rule on the field gives full
access, so a field is hidden only when every such role hides it. Roles that say nothing about the
entity say nothing about its fields. Levels, from least to most permissive: hidden, masked (shown
through a mask, not writable), readonly (shown, not writable), full. A user may reveal a hidden or
masked field when one of her roles has a rule with ``reveal`` on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

HIDDEN, MASKED, READONLY, FULL = "hidden", "masked", "readonly", "full"
ACCESS_LEVELS = (HIDDEN, MASKED, READONLY)
_RANK = {HIDDEN: 0, MASKED: 1, READONLY: 2, FULL: 3}


@dataclass(frozen=True)
class FieldAccess:
    """What a user may do with one field: its level, the mask style (masked) and whether she may reveal it."""

    level: str
    mask: str | None = None
    reveal: bool = False

    @property
    def visible(self) -> bool:
        """Whether the clear value is shown (full or readonly)."""
        return self.level in (READONLY, FULL)

    @property
    def writable(self) -> bool:
        """Whether the field may be written."""
        return self.level == FULL


@dataclass(frozen=True)
class RoleFieldRule:
    """One row of sys_field_permission."""

    role: str
    entity: str
    field: str
    access: str
    mask: str | None = None
    reveal: bool = False


FieldRules = Mapping[str, Mapping[str, FieldAccess]]  # entity -> field -> access (only restricted ones)


def effective_rules(role_entities: Mapping[str, Iterable[str]], rules: Iterable[RoleFieldRule]) -> FieldRules:
    """Combine the rules of a user's roles (``role_entities``: the entities each role grants anything on)."""
    by_entity: dict[str, dict[str, dict[str, RoleFieldRule]]] = {}
    for rule in rules:
        by_entity.setdefault(rule.entity, {}).setdefault(rule.field, {})[rule.role] = rule
    result: dict[str, dict[str, FieldAccess]] = {}
    for entity, fields in by_entity.items():
        deciding = sorted(r for r, entities in role_entities.items() if entity in entities or "*" in entities)
        for name, per_role in fields.items():
            access = _combine(deciding or sorted(per_role), per_role)
            if access is not None:
                result.setdefault(entity, {})[name] = access
    return result


def strictest_rules(rules: Iterable[RoleFieldRule]) -> FieldRules:
    """Combine every role's rules the other way round: the least permissive level of each field, no reveal."""
    result: dict[str, dict[str, FieldAccess]] = {}
    for rule in rules:
        if rule.access not in _RANK:
            continue
        found = result.setdefault(rule.entity, {}).get(rule.field)
        if (
            found is None
            or _RANK[rule.access] < _RANK[found.level]
            or (found.mask is None and rule.access == found.level)
        ):
            mask = rule.mask if rule.access == MASKED else None
            result[rule.entity][rule.field] = FieldAccess(rule.access, mask, False)
    return result


def _combine(roles: list[str], per_role: Mapping[str, RoleFieldRule]) -> FieldAccess | None:
    best = HIDDEN
    masks = []
    for role in roles:
        rule = per_role.get(role)
        level = rule.access if rule is not None and rule.access in _RANK else FULL
        if _RANK[level] > _RANK[best]:
            best = level
        if rule is not None and rule.access == MASKED and rule.mask:
            masks.append(rule.mask)
    if best == FULL:
        return None
    reveal = any(rule.reveal for rule in per_role.values())
    return FieldAccess(best, masks[0] if best == MASKED and masks else None, reveal)
