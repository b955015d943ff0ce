"""PCADV standards: thirteen weeks of advising her of his status.

The story: his application, his acceptance, a leave during which she declines all contact, a
duty to warn a supervisor confirms over her decline, her asking to be called again (her
words, a supervisor's confirmation), and his discharge.

Seed: seeds/004 (PCADV), item 4: "Advising battered partners of the status of the batterer in
relation to the intervention service, including application, rejection or acceptance,
attendance, and administrative or contractual discharge"; item 6: "Warning battered partners
and appropriate law enforcement agencies of potential violence by the participant"; item 7:
"Taking appropriate action to protect partners and minor children".
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from outreach.runtime import Runtime
from outreach.security.vault import Vault
from outreach.services.errors import Conflict
from tests.fakes import RecordingChannel
from tests.scenarios.story import DAY, Story, begin, ny, week


@pytest.fixture
def story(db: Session, vault: Vault, rt: Runtime, channel: RecordingChannel) -> Story:
    return begin(db, vault, rt, channel, protocol="pcadv")


def test_thirteen_weeks_of_status_advice(story: Story) -> None:
    s = story
    # "application": the program reports it as enrolled; within a week.
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    assert intake.due_by == ny(week(0), "09:00") + 7 * DAY
    s.live_until(ny(week(0, 3), "11:00"))
    # seeds/004 item 2: "Informing battered partners of their right to be free of violence
    # and to access legal protections"; item 3: "informed referrals to partners to domestic
    # violence programs, victim-witness assistance and legal services" (config/referrals/).
    said = s.script(intake, ny(week(0, 3), "11:55"))
    assert "You have the right to be free of violence" in said["rights"]
    assert "ask the courts and the police for protection" in said["rights"]
    for place in ("Domestic Violence Program", "Legal Aid", "Victim-Witness Assistance"):
        assert f"Sample River County {place} (example)" in said["resources"]
    s.reach(intake, ny(week(0, 3), "12:00"))
    s.her_word(ny(week(0, 3), "12:05"), consent="consented", sms=True)
    # "rejection or acceptance".
    s.live_until(ny(week(1, 0), "09:30"))
    [accepted] = s.event("accepted", ny(week(1, 0), "10:00"))
    assert (accepted.reason, accepted.due_by) == ("accepted", ny(week(1, 0), "10:00") + 7 * DAY)
    s.live_until(ny(week(1), "18:55"))
    s.reach(accepted, ny(week(1), "19:00"))
    # "attendance": a leave of absence, within two days.
    s.live_until(ny(week(4, 0), "09:30"))
    [leave] = s.event("leave_of_absence", ny(week(4, 0), "10:00"))
    assert (leave.reason, leave.due_by) == ("leave_of_absence", ny(week(4, 0), "10:00") + 2 * DAY)
    s.attempt(leave, ny(week(4, 0), "12:00"), "no_answer")
    s.live_until(ny(week(4, 1), "11:00"))
    # On the second attempt she says she wants no more contact (S1: declined is no further
    # contact of any kind, on every task).
    s.attempt(leave, ny(week(4, 1), "12:00"), "declined")
    assert s.preferences().consent == "declined"
    # Added when status updates land: absences and the return are "attendance" she may ask
    # to hear about (updates: true).
    s.live_until(ny(week(6, 0), "09:30"))
    assert s.event("returned_from_leave", ny(week(6, 0), "10:00")) == []
    s.live_until(ny(week(7), "09:30"))
    assert s.event("safety_concern", ny(week(7), "10:00")) == []  # S1: she declined

    # Item 6: "Warning battered partners ... of potential violence" (S8): a declined contact
    # is warned once a supervisor confirms, by a person's call.
    s.live_until(ny(week(8, 3), "09:30"))
    [warning] = s.event("duty_to_warn", ny(week(8, 3), "10:00"), severity="high")
    assert (warning.reason, warning.channels) == ("duty_to_warn", ["voice"])
    assert warning.opens_at == ny(week(8, 3), "10:00")
    with pytest.raises(Conflict):  # held until a supervisor confirms (S1, S8)
        s.attempt(warning, ny(week(8, 3), "10:01"), "no_answer")
    s.db.rollback()
    s.confirm_warning(warning, ny(week(8, 3), "10:05"))
    s.reach(warning, ny(week(8, 3), "10:10"))

    # --- week 9: she asks to hear from the program again (S1: opting back in) ---------------
    # Her words, recorded by the liaison; she consents again only once a supervisor confirms.
    s.live_until(ny(week(9, 3), "11:00"))
    held = s.asks_to_opt_back_in(
        ny(week(9, 3), "12:00"), "Please call me again when anything changes.", voice=True
    )
    # Until a supervisor confirms, she stays declined and nothing opens for her (S1).
    assert s.preferences().consent == "declined"
    s.live_until(ny(week(9, 4), "09:30"))
    assert s.event("safety_concern", ny(week(9, 4), "10:00")) == []
    s.confirm_opt_back_in(held, ny(week(9, 4), "11:00"))
    assert s.preferences().consent == "consented"
    assert s.preferences().sms is False  # she gave back calls only

    # "administrative or contractual discharge": within two days.
    s.live_until(ny(week(11, 0), "09:30"))
    [ended] = s.event("terminated", ny(week(11, 0), "10:00"))
    assert (ended.reason, ended.due_by) == ("terminated", ny(week(11, 0), "10:00") + 2 * DAY)
    s.live_until(ny(week(11), "18:55"))
    s.reach(ended, ny(week(11), "19:00"))
    s.live_until(ny(week(14, 0), "09:30"))

    assert [(t.reason, t.status) for t in s.tasks()] == [
        ("intake", "completed"),
        ("accepted", "completed"),
        ("leave_of_absence", "cancelled"),  # she declined on it
        ("duty_to_warn", "completed"),
        ("terminated", "completed"),
    ]
    # A heads-up text before the Tuesday call she consented to; none while she had declined,
    # none for the warning, none after she gave back calls only.
    assert [at for at, _ in s.texts()] == [ny(week(1), "18:50")]
    assert s.calls() == []


def test_a_rejected_application_is_told_and_nothing_follows(story: Story) -> None:
    """seeds/004 item 4: "Advising battered partners of the status of the batterer ...
    including application, rejection or acceptance": his application, then its rejection
    (within three days, profile); he never enters the program, so nothing else opens."""
    s = story
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    s.live_until(ny(week(0, 3), "11:00"))
    s.reach(intake, ny(week(0, 3), "12:00"))
    s.her_word(ny(week(0, 3), "12:05"), consent="consented")
    s.live_until(ny(week(1, 3), "09:30"))
    [rejected] = s.event("rejected", ny(week(1, 3), "10:00"))
    assert (rejected.reason, rejected.channels) == ("rejected", ["voice"])
    assert rejected.due_by == ny(week(1, 3), "10:00") + 3 * DAY
    s.reach(rejected, ny(week(1, 3), "12:00"))
    s.live_until(ny(week(14, 0), "09:30"))
    assert [(t.reason, t.status) for t in s.tasks()] == [
        ("intake", "completed"),
        ("rejected", "completed"),
    ]
