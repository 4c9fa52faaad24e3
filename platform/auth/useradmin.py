"""Managing user accounts for administrators: list, create (with org unit and roles), change roles and
unit, deactivate, reset the password. The users API and the studio's users page both call these, so they
cannot disagree; passwords go through the one policy (zxcvbn strength) in ``passwords``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, func, or_, select

from crm_platform.auth.users import create_user, set_active, set_password
from metamodel.access import AccessAdmin
from metamodel.errors import NotFound, Problem, RecordInvalid
from metamodel.sitesettings import valid_zone_name
from metamodel.systables import user_org_units, user_role_expiry, user_roles, users

MAX_PAGE = 200
LOCALES = ("en", "zh-CN")


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def _zone_problems(body: Mapping[str, Any]) -> list[Problem]:
    zone = body.get("time_zone")
    if zone in (None, "") or valid_zone_name(zone) is not None:
        return []
    return [Problem("time_zone", f"unknown time zone '{str(zone)[:64]}'", "time_zone")]


def _row_dict(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "username": row.username,
        "display_name": row.display_name,
        "email": row.email,
        "locale": row.locale,
        "is_admin": bool(row.is_admin),
        "is_active": bool(row.is_active),
        "must_change_password": bool(row.must_change_password),
        "time_zone": row.time_zone,
        "created_at": _iso(row.created_at),
    }


class UserAdmin:
    """User accounts plus their org unit and role grants (through AccessAdmin)."""

    def __init__(self, engine: Engine, access: AccessAdmin) -> None:
        self.engine = engine
        self.access = access

    def page(
        self, search: str = "", *, active: bool | None = None, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        """Return a page of users (matching ``search`` in name or display name) with unit and roles."""
        query = select(users)
        if search:
            pattern = f"%{search[:80].lower()}%"
            query = query.where(
                or_(
                    func.lower(users.c.username).like(pattern), func.lower(users.c.display_name).like(pattern)
                )
            )
        if active is not None:
            query = query.where(users.c.is_active.is_(active))
        limit = max(1, min(limit, MAX_PAGE))
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = conn.execute(query.order_by(users.c.username).limit(limit).offset(max(0, offset))).all()
            ids = [int(r.id) for r in rows]
            units = dict(
                conn.execute(
                    select(user_org_units.c.user_id, user_org_units.c.unit_id).where(
                        user_org_units.c.user_id.in_(ids)
                    )
                ).all()
            )
            held: dict[int, list[dict[str, Any]]] = {}
            grants = conn.execute(
                select(user_roles.c.user_id, user_roles.c.role, user_role_expiry.c.expires_at)
                .select_from(
                    user_roles.outerjoin(
                        user_role_expiry,
                        (user_role_expiry.c.user_id == user_roles.c.user_id)
                        & (user_role_expiry.c.role == user_roles.c.role),
                    )
                )
                .where(user_roles.c.user_id.in_(ids))
                .order_by(user_roles.c.role)
            ).all()
            for user_id, role, expires in grants:
                held.setdefault(int(user_id), []).append({"role": role, "expires_at": _iso(expires)})
        items = [
            {**_row_dict(r), "unit_id": units.get(int(r.id)), "roles": held.get(int(r.id), [])} for r in rows
        ]
        return {"items": items, "total": int(total)}

    def get(self, user_id: int) -> dict[str, Any]:
        """Return one user with org unit, roles (with expiry) and teams."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"no user {user_id}")
        access = self.access.user_access(user_id)
        return {
            **_row_dict(row),
            "unit_id": access["unit_id"],
            "roles": access["roles"],
            "teams": access["teams"],
        }

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a user from ``body`` (username, password, display_name, locale, is_admin, unit_id, roles)."""
        username, password = body.get("username"), body.get("password")
        problems = []
        if not isinstance(username, str) or not username:
            problems.append(Problem("username", "is required", "required"))
        if not isinstance(password, str) or not password:
            problems.append(Problem("password", "is required", "required"))
        locale = body.get("locale") or "en"
        if locale not in LOCALES:
            problems.append(Problem("locale", f"must be one of: {', '.join(LOCALES)}", "choice"))
        unit_id, roles = _unit(body), _roles(body)
        problems += _zone_problems(body)
        if problems:
            raise RecordInvalid("the user is not valid", problems)
        self._check_targets(unit_id, roles)
        user = create_user(
            self.engine,
            str(username),
            str(password),
            display_name=str(body.get("display_name") or "")[:200],
            is_admin=body.get("is_admin") is True,
            locale=str(locale),
        )
        self.update(user.id, {k: body[k] for k in ("unit_id", "roles", "time_zone") if k in body})
        return self.get(user.id)

    def update(self, user_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Change what ``body`` names: display_name, unit_id (null: none), roles (replaces all grants),
        time_zone (null: the site's)."""
        current = self.get(user_id)
        unit_id, roles = _unit(body), _roles(body)
        zone_problems = _zone_problems(body)
        if zone_problems:
            raise RecordInvalid("the user is not valid", zone_problems)
        self._check_targets(unit_id, roles)
        if "time_zone" in body:
            zone = valid_zone_name(body["time_zone"]) if body["time_zone"] else None
            with self.engine.begin() as conn:
                conn.execute(users.update().where(users.c.id == user_id).values(time_zone=zone))
        if "display_name" in body:
            name = body["display_name"]
            if not isinstance(name, str) or not name.strip():
                raise RecordInvalid(
                    "the user is not valid", [Problem("display_name", "is required", "required")]
                )
            with self.engine.begin() as conn:
                conn.execute(
                    users.update().where(users.c.id == user_id).values(display_name=name.strip()[:200])
                )
        if "unit_id" in body:
            self.access.set_user_unit(user_id, unit_id)
        if roles is not None:
            keep = {g["role"] for g in roles}
            for held in current["roles"]:
                if held["role"] not in keep:
                    self.access.unassign_role(user_id, held["role"])
            for grant in roles:
                self.access.assign_role(user_id, grant["role"], grant["expires_at"])
        return self.get(user_id)

    def set_active(self, user_id: int, active: bool) -> dict[str, Any]:
        """Activate or deactivate a user (deactivation ends her sessions and tokens at once)."""
        set_active(self.engine, self.get(user_id)["username"], active)
        return self.get(user_id)

    def reset_password(self, user_id: int, password: Any, *, must_change: bool = True) -> dict[str, Any]:
        """Set a new password (checked by the policy); by default she must choose her own at next sign-in."""
        if not isinstance(password, str) or not password:
            raise RecordInvalid("the password is not valid", [Problem("password", "is required", "required")])
        set_password(self.engine, self.get(user_id)["username"], str(password), must_change=must_change)
        return self.get(user_id)

    def _check_targets(self, unit_id: int | None, roles: list[dict[str, Any]] | None) -> None:
        # Checked before anything is written, so a bad role never leaves a half-made user behind.
        problems = []
        if unit_id is not None and unit_id not in {u["id"] for u in self.access.units()}:
            problems.append(Problem("unit_id", f"no org unit {unit_id}", "unknown"))
        known = {r["name"] for r in self.access.roles()}
        for index, grant in enumerate(roles or []):
            if grant["role"] not in known:
                problems.append(Problem(f"roles[{index}]", f"no role '{grant['role'][:80]}'", "unknown"))
        if problems:
            raise RecordInvalid("the user is not valid", problems)


def _unit(body: Mapping[str, Any]) -> int | None:
    raw = body.get("unit_id")
    if raw is None or raw == "":
        return None
    if (
        isinstance(raw, bool)
        or not isinstance(raw, int | str)
        or not str(raw).isdigit()
        or len(str(raw)) > 18
    ):
        raise RecordInvalid("the user is not valid", [Problem("unit_id", "must be an org unit id", "type")])
    return int(raw)


def _roles(body: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Return the role grants of ``body`` ([name] or [{role, expires_at}]), or None when it names none."""
    raw = body.get("roles")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise RecordInvalid("the user is not valid", [Problem("roles", "must be a list", "type")])
    return [_grant(item, index) for index, item in enumerate(raw)]


def _grant(item: Any, index: int) -> dict[str, Any]:
    where = f"roles[{index}]"
    if isinstance(item, str):
        item = {"role": item}
    if not isinstance(item, Mapping) or not isinstance(item.get("role"), str) or not item["role"]:
        raise RecordInvalid(
            "the user is not valid", [Problem(where, "must be a role name or {role, expires_at}", "type")]
        )
    expires = item.get("expires_at")
    if expires in (None, ""):
        return {"role": item["role"], "expires_at": None}
    try:
        if not isinstance(expires, str):
            raise ValueError
        value = dt.datetime.fromisoformat(expires)
    except ValueError:
        raise RecordInvalid(
            "the user is not valid",
            [Problem(f"{where}.expires_at", "must be an ISO 8601 date and time", "type")],
        ) from None
    return {"role": item["role"], "expires_at": value if value.tzinfo else value.replace(tzinfo=dt.UTC)}
