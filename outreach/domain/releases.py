"""Releases of information (S7): the words, and when a release authorises a share.

Information a contact person gave leaves the program only under a release: one recipient,
one purpose, a fixed list of what may be shared, and an expiry. A revocation takes effect
the instant it is recorded. These rules are pure so the property tests can prove them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# "Reasonably time-limited" (VAWA 34 USC 12291(b)(2)): no release runs longer than a year.
LONGEST_TERM = timedelta(days=366)


class RecipientKind(StrEnum):
    """Who the information goes to; the recipient's own name is sealed with the contact's key."""

    COURT = "court"
    PROBATION = "probation"
    PROGRAM_FACILITATORS = "program_facilitators"
    VICTIM_SERVICES = "victim_services"
    CHILD_WELFARE = "child_welfare"
    OTHER = "other"


class Purpose(StrEnum):
    PROGRESS_REPORT = "progress_report"  # the contact wants something in a court report
    GROUP_WORK = "group_work"  # facilitators address an issue in group, without naming the contact
    SAFETY_PLANNING = "safety_planning"
    COURT_PROCEEDING = "court_proceeding"
    SERVICES_REFERRAL = "services_referral"


class ScopeItem(StrEnum):
    """What a release lets the program share; nothing outside this list ever goes out."""

    CONTACT_MADE = "contact_made"  # that the program reached the contact, and on which days
    STATEMENT = "statement"  # the words the contact agreed to share, as written on the release


class GivenAs(StrEnum):
    """How the contact gave the release. Written only: an informed, written release."""

    SIGNED_FORM = "signed_form"
    SIGNED_ELECTRONICALLY = "signed_electronically"


class RevokedHow(StrEnum):
    ORAL = "oral"  # the contact said so, on a call or in person: it counts at once
    WRITTEN = "written"
    PROGRAM = "program"  # the program ended it: purpose fulfilled, or no longer safe


class Authority(StrEnum):
    """What compelled a disclosure."""

    COURT_ORDER = "court_order"
    SUBPOENA = "subpoena"
    STATUTE = "statute"  # e.g. a mandatory report


class DisclosedItem(StrEnum):
    CONTACT_DETAILS = "contact_details"
    ATTEMPT_LOG = "attempt_log"
    NOTES = "notes"
    RELEASES = "releases"


@dataclass(frozen=True)
class Term:
    """The time a release runs: from granted_at up to, not including, the earlier of its
    expiry and its revocation."""

    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def live_at(self, t: datetime) -> bool:
        """True when the release authorises a share at instant t."""
        if not self.granted_at <= t < self.expires_at:
            return False
        return self.revoked_at is None or t < self.revoked_at


def covers(
    scope: Collection[str],
    purpose: str,
    kind: str,
    *,
    wanted_purpose: str,
    wanted_kind: str,
    items: Iterable[str],
) -> bool:
    """True when a release for (kind, purpose, scope) covers sharing `items` as asked."""
    return kind == wanted_kind and purpose == wanted_purpose and set(items) <= set(scope)


def term_problem(granted_at: datetime, expires_at: datetime, now: datetime) -> str | None:
    """Why these dates cannot make a release, or None when they can."""
    if granted_at > now:
        return "a release cannot be granted in the future"
    if expires_at <= now:
        return "the expiry must be later than now"
    if expires_at - granted_at > LONGEST_TERM:
        return "a release runs for a year at most; ask the contact to renew it"
    return None
