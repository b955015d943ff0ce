"""ADA program / no partner contact: thirteen weeks in which nothing but a duty to warn opens.

Seed: seeds/004: "We decided not to have contact with the partners of the men in our batterer
intervention service unless of course we believed we had a duty to warn/protect"; "we should
offer her the resource of the local Battered Women's Service Organization and the police".
PRODUCT.md protocol table: "no partner contact at all except duty to warn (not even the S11
resources call)".
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from outreach.runtime import Runtime
from outreach.security.vault import Vault
from tests.fakes import RecordingChannel
from tests.scenarios.story import Story, begin, ny, week


@pytest.fixture
def story(db: Session, vault: Vault, rt: Runtime, channel: RecordingChannel) -> Story:
    # Her number reached the program with the referral; she has never been asked.
    return begin(db, vault, rt, channel, protocol="no_contact")


def test_thirteen_weeks_with_nothing_but_a_duty_to_warn(story: Story) -> None:
    s = story
    # seeds/004: "not to have contact with the partners": no event opens a contact.
    for kind, n in (("enrolled", 0), ("leave_of_absence", 3), ("returned_from_leave", 5)):
        s.live_until(ny(week(n), "09:30"))
        assert s.event(kind, ny(week(n), "10:00")) == []
    s.cancel_class(week(6), ny(week(6, 0), "15:00"))
    s.live_until(ny(week(7), "09:30"))
    assert s.event("safety_concern", ny(week(7), "10:00"), severity="high") == []
    # Not even S11's resources-only call (PRODUCT.md protocol table).
    assert s.event("participant_may_be_victim", ny(week(7), "11:00")) == []
    assert s.tasks() == []

    # --- week 9: "unless ... we believed we had a duty to warn/protect" (S8) ----------------
    s.live_until(ny(week(9), "23:00"))
    [warning] = s.event("duty_to_warn", ny(week(9), "23:10"), severity="high")
    assert warning.reason == "duty_to_warn"
    # S8: "callable at once at any hour (legal calling hours govern routine outreach, not an
    # emergency warning)": late at night, the window opens as it is raised.
    first = s.windows(warning)[0]
    assert (first.kind, first.start) == ("duty_to_warn", ny(week(9), "23:10"))
    # Not yet asked: the warning is a call, never a text (S1).
    assert warning.channels == ["voice"]
    # seeds/004: "we should offer her the resource of the local Battered Women's Service
    # Organization and the police": the warning call names it (config/referrals/no_contact.toml)
    # and, once she was reached, the referral is recorded on the warning.
    said = s.script(warning, ny(week(9), "23:12"))
    assert "Shelter: Sample Lake County Safe House (example)" in said["resources"]
    assert "call 911" in said["resources"]
    s.attempt(warning, ny(week(9), "23:15"), "reached_safe")
    s.attempt(warning, ny(week(9), "23:20"), "referred_to_victim_services")
    s.close_completed(warning, ny(week(9), "23:25"))
    s.live_until(ny(week(12), "09:30"))
    assert s.event("terminated", ny(week(12), "10:00")) == []
    s.live_until(ny(week(14, 0), "09:30"))

    assert [(t.reason, t.status) for t in s.tasks()] == [("duty_to_warn", "completed")]
    assert s.texts() == []  # no reminder, ever, for a duty to warn (consented reminders)
    assert s.calls() == []
