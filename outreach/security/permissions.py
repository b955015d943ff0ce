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
    # S1/S8: confirm a duty to warn that reaches a declined contact (supervisors only).
    DUTY_TO_WARN_CONFIRM = "contact:duty-to-warn:confirm"
    # S1: confirm a declined contact's request to be contacted again (supervisors only).
    OPT_BACK_IN_CONFIRM = "contact:opt-back-in:confirm"
    # S7: releases of information and compelled disclosures (docs/security/releases.md).
    RELEASE_READ = "contact:release:read"
    RELEASE_REVOKE = "contact:release:revoke"
    RELEASE_GRANT = "contact:release:grant"
    RELEASE_SHARE = "contact:release:share"
    DISCLOSURE_RECORD = "contact:disclosure:record"
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

# A liaison sees which releases a contact has and revokes one the moment the contact says so
# on a call (oral revocation counts at once); recording a written release, sharing under it
# and recording a compelled disclosure are a supervisor's. Admins and facilitators hold none.
_RELEASE_ON_CALL = {Permission.RELEASE_READ, Permission.RELEASE_REVOKE}
_RELEASE_WORK = _RELEASE_ON_CALL | {
    Permission.RELEASE_GRANT,
    Permission.RELEASE_SHARE,
    Permission.DISCLOSURE_RECORD,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.LIAISON: frozenset(_CONTACT_WORK | _RELEASE_ON_CALL),
    Role.SUPERVISOR: frozenset(
        _CONTACT_WORK
        | _RELEASE_WORK
        | {
            Permission.ATTEMPT_REVIEW,
            Permission.TASK_CLOSE_UNREACHABLE,
            Permission.DUTY_TO_WARN_CONFIRM,
            Permission.OPT_BACK_IN_CONFIRM,
        }
    ),
    # S7: a facilitator holds no contact permission at all.
    Role.FACILITATOR: frozenset(_PROGRAM_WORK),
    # An admin never reads contact-person data nor claims a contact task (PRODUCT.md, roles;
    # issue 21 finding 7). An account holds one role: a person who administers and also works
    # cases has a liaison account besides the admin one.
    Role.ADMIN: frozenset(_PROGRAM_WORK | {Permission.ADMIN_USERS, Permission.ADMIN_PROGRAMS}),
}


def role_allows(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
