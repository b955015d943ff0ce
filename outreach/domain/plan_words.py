"""Why the planner proposed what it did, in words a liaison reads at a glance (S4, S8).

"Every screen says which of these applies, in words" (S4): the task page and the queue
show these sentences next to the windows, and the API answers them as `why`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from outreach.domain.participation import Status, StatusAt
from outreach.domain.planning.windows import Skipped, SkipReason

_LEFT = {
    Status.COMPLETED: "he completed the program",
    Status.TERMINATED: "he left the program (terminated)",
    Status.REJECTED: "his application was rejected",
}
_GROUP_REFUSALS = frozenset({SkipReason.PARTICIPANT_NOT_ACTIVE, SkipReason.GROUP_TIME_AFTER_EXIT})


def why(
    skipped: Iterable[Skipped],
    status: StatusAt | None,
    *,
    named_safe_times: bool,
    zone: ZoneInfo,
) -> list[str]:
    """The sentences that explain a task's plan: why group time is refused, and what is left."""
    reasons = {s.reason for s in skipped}
    words: list[str] = []
    if reasons & _GROUP_REFUSALS:
        refused = _group_refused(status, reasons, zone)
        words.append(f"{refused[0].upper()}{refused[1:]}; {_what_is_left(named_safe_times)}.")
    if SkipReason.CONTACT_DECLINED in reasons:
        words.append("She declined all contact: nothing is proposed (S1).")
    if SkipReason.VOICE_NOT_PERMITTED in reasons:
        words.append("She turned calls off: no call window is proposed (S1).")
    return words


def _group_refused(status: StatusAt | None, reasons: set[SkipReason], zone: ZoneInfo) -> str:
    if status is not None and status.status in _LEFT:
        return f"{_LEFT[status.status]} on {_day(status.since, zone)}: group time is no longer safe"
    if status is not None and status.status is Status.ON_LEAVE:
        return f"He has been on leave since {_day(status.since, zone)}: group time is not safe"
    if status is not None and status.status is Status.NOT_ENROLLED:
        return "He is not enrolled yet: no group time before he starts"
    if SkipReason.GROUP_TIME_AFTER_EXIT in reasons:
        return "This contact follows his leaving group: group time is never used for it"
    return "He is not in group at some sessions (before enrolment, after leaving, or on leave)"


def _what_is_left(named_safe_times: bool) -> str:
    if named_safe_times:
        return "only the times she named"
    return "she has named no safe time, so no window is proposed: ask her for one"


def _day(at: datetime | None, zone: ZoneInfo) -> str:
    if at is None:
        return "his record's start"
    local = at.astimezone(zone)
    return f"{local.day} {local:%b}"
