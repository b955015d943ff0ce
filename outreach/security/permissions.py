"""Permissions as named constants and what each role holds (scoped to the user's programs)."""

from __future__ import annotations

from enum import StrEnum

from outreach.domain.vocabulary import Role


class Permission(StrEnum):
    CONTACT_READ = "contact:person:read"
    CONTACT_WRITE = "contact:person:write"
    ATTEMPT_RECORD = "contact:attempt:record"
    ATTEMPT_REVIEW = "contact:attempt:review"
    TASK_CLOSE_UNREACHABLE = "contact:task:sign-off"
    PROGRAM_SCHEDULE_WRITE = "program:schedule:write"
    PROGRAM_EVENT_WRITE = "program:event:write"
    ATTENDANCE_WRITE = "program:attendance:write"
    ADMIN_USERS = "admin:users:write"
    ADMIN_PROGRAMS = "admin:programs:write"


_CONTACT_WORK = {Permission.CONTACT_READ, Permission.CONTACT_WRITE, Permission.ATTEMPT_RECORD}
_PROGRAM_WORK = {
    Permission.PROGRAM_SCHEDULE_WRITE,
    Permission.PROGRAM_EVENT_WRITE,
    Permission.ATTENDANCE_WRITE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.LIAISON: frozenset(_CONTACT_WORK),
    Role.SUPERVISOR: frozenset(
        _CONTACT_WORK | {Permission.ATTEMPT_REVIEW, Permission.TASK_CLOSE_UNREACHABLE}
    ),
    # S7: a facilitator holds no contact permission at all.
    Role.FACILITATOR: frozenset(_PROGRAM_WORK),
    Role.ADMIN: frozenset(
        _CONTACT_WORK | _PROGRAM_WORK | {Permission.ADMIN_USERS, Permission.ADMIN_PROGRAMS}
    ),
}


def role_allows(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
