"""NY OPDV guidance: thirteen weeks in which no contact measures his progress.

Seed: seeds/000: "A program should be cautious about contacting a victim to check on the
abusive partner or to measure progress ... something to be discouraged, or at the very least,
handled with great care, and in conjunction with a victim services program"; "It is crucial
that victims be made aware of the resources available to them"; "Programs should consult with
domestic violence service providers when there are concerns related to victim safety."
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from outreach.runtime import Runtime
from outreach.security.vault import Vault
from outreach.services.errors import Invalid
from tests.fakes import RecordingChannel
from tests.scenarios.story import DAY, Story, begin, ny, week


@pytest.fixture
def story(db: Session, vault: Vault, rt: Runtime, channel: RecordingChannel) -> Story:
    return begin(db, vault, rt, channel, protocol="ny_opdv")


def test_thirteen_weeks_without_a_progress_contact(story: Story) -> None:
    s = story
    # "victims be made aware of the resources available to them": one first call.
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    assert (intake.reason, intake.channels) == ("intake", ["voice"])
    assert intake.due_by == ny(week(0), "09:00") + 7 * DAY
    s.live_until(ny(week(0, 3), "11:00"))
    s.reach(intake, ny(week(0, 3), "12:00"))
    s.her_word(ny(week(0, 3), "12:05"), consent="consented", sms=True)
    # "not ... to measure progress": no rhythm of check-ins may be chosen (S13).
    with pytest.raises(Invalid):
        s.her_word(ny(week(0, 3), "12:10"), cadence="monthly")
    s.db.rollback()

    # No progress contact: a court report, a leave, a return, a cancelled class open nothing.
    s.live_until(ny(week(3), "09:30"))
    assert s.event("progress_report_due", ny(week(3), "10:00"), about=week(5)) == []
    s.live_until(ny(week(5), "09:30"))
    assert s.event("leave_of_absence", ny(week(5), "10:00")) == []
    s.live_until(ny(week(7), "09:30"))
    assert s.event("returned_from_leave", ny(week(7), "10:00")) == []
    s.cancel_class(week(8), ny(week(8, 0), "15:00"))

    # "concerns related to victim safety": handled at once (S8).
    s.live_until(ny(week(9, 2), "09:30"))
    [concern] = s.event("safety_concern", ny(week(9, 2), "10:00"), severity="elevated")
    assert (concern.reason, concern.channels) == ("safety_concern", ["voice"])
    # "in conjunction with a victim services program": the script names the program's own
    # (config/referrals/ny_opdv.toml), and the liaison records the referral, which handles it.
    said = s.script(concern, ny(week(9, 2), "10:25"))
    assert "Example Hudson County Domestic Violence Program (example)" in said["resources"]
    s.attempt(concern, ny(week(9, 2), "10:30"), "referred_to_victim_services")
    s.close_completed(concern, ny(week(9, 2), "10:35"))

    # His completion measures his progress: nothing opens for it either.
    s.live_until(ny(week(12), "09:30"))
    assert s.event("completed", ny(week(12), "10:00")) == []
    s.live_until(ny(week(14, 0), "09:30"))

    assert [(t.reason, t.status) for t in s.tasks()] == [
        ("intake", "completed"),
        ("safety_concern", "completed"),
    ]
    assert s.texts() == []  # no call was planned in a window, so no heads-up was due
    assert s.calls() == []
