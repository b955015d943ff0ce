"""Colorado DVOMB: thirteen weeks of one case, as the treatment team's victim advocate lives it.

Seed: seeds/001, "Colorado". "Victim contact is victim driven. If the victim does not want
contact, it is not required." "The frequency of victim contact varies and depends on the
victim's comfort (e.g., once a month, once every three months)." The advocate "must be
consulted at certain points during treatment, such as initial placement in treatment, changes
to level of treatment, if there are safety issues, and prior to discharge."

The story: he is placed in treatment; the advocate reaches her and she asks for a call once a
month, texts welcome; a month on, her check-in; his level of treatment changes; she says "no
calls, texts are fine, every three months"; later she wants calls again; a safety issue; the
program plans his discharge and then reports it.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from outreach.runtime import Runtime
from outreach.security.vault import Vault
from outreach.services.errors import Conflict, Invalid
from tests.fakes import RecordingChannel
from tests.scenarios.story import DAY, Seen, Story, begin, ny, week


@pytest.fixture
def story(db: Session, vault: Vault, rt: Runtime, channel: RecordingChannel) -> Story:
    return begin(db, vault, rt, channel, protocol="colorado_dvomb")


def test_thirteen_weeks_of_a_colorado_case(story: Story) -> None:
    s = story
    # --- week 0: initial placement in treatment -------------------------------------------
    # seeds/001: the advocate is consulted at "initial placement in treatment": within a week.
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    assert (intake.reason, intake.channels) == ("intake", ["voice"])
    assert intake.due_by == ny(week(0), "09:00") + 7 * DAY
    s.live_until(ny(week(0, 3), "11:00"))
    reached = ny(week(0, 3), "12:00")
    s.reach(intake, reached)
    # "depends on the victim's comfort (e.g., once a month ...)": her choice, recorded (S13).
    s.her_word(reached, consent="consented", sms=True, cadence="monthly")
    s.live_until(ny(week(4, 6), "09:30"))

    # --- week 4: her monthly check-in, counted from when she was reached -----------------
    check_in = s.open_task("periodic_check_in")
    assert check_in.opens_at == reached + 30 * DAY
    assert check_in.due_by == reached + 37 * DAY  # within the month's week (profile)
    assert check_in.channels == ["voice"]
    s.live_until(ny(week(5), "18:55"))
    # PRODUCT.md "Consented reminders": one heads-up text before Tuesday's window.
    assert [at for at, _ in s.texts()] == [ny(week(5), "18:50")]
    # S3: no voicemail unless she allowed messages: the liaison cannot log one.
    with pytest.raises(Invalid):
        s.attempt(check_in, ny(week(5), "18:58"), "voicemail_neutral")
    s.db.rollback()
    # S6: she answers but it is not safe to talk: that never counts as the contact.
    s.attempt(check_in, ny(week(5), "19:00"), "reached_not_safe")
    with pytest.raises(Conflict):
        s.close_completed(check_in, ny(week(5), "19:01"))
    s.db.rollback()
    s.live_until(ny(week(5), "19:55"))
    s.reach(check_in, ny(week(5), "20:00"))  # she calls back later that evening

    # --- week 6: a change to his level of treatment -----------------------------------------
    # seeds/001: "changes to level of treatment".
    s.live_until(ny(week(6, 0), "09:30"))
    [level] = s.event("level_change", ny(week(6, 0), "10:00"))
    assert (level.reason, level.due_by) == ("level_change", ny(week(6, 0), "10:00") + 5 * DAY)
    s.live_until(ny(week(6), "18:55"))
    s.reach(level, ny(week(6), "19:00"))

    # --- week 7: "no calls, texts are fine; every three months is enough" -------------------
    # S1: she narrows by channel without declining; S13: she may slow her rhythm.
    s.live_until(ny(week(7, 3), "11:00"))
    s.her_word(ny(week(7, 3), "12:00"), voice=False, cadence="quarterly")
    assert s.preferences().consent == "consented"
    s.live_until(ny(week(10, 0), "09:30"))
    # Quarterly from her last conversation: nothing opens in these weeks.
    assert [t for t in s.tasks() if t.status == "open"] == []
    # She asks for calls again (S1: hers to change at any time).
    s.her_word(ny(week(10, 0), "10:00"), voice=True)

    # --- week 10: a safety issue -------------------------------------------------------------
    # seeds/001: "if there are safety issues"; S8: callable at once within calling hours.
    s.live_until(ny(week(10, 2), "09:30"))
    [concern] = s.event("safety_concern", ny(week(10, 2), "10:00"), severity="elevated")
    assert (concern.reason, concern.channels) == ("safety_concern", ["voice"])
    s.reach(concern, ny(week(10, 2), "11:00"))

    # --- week 11: the program plans his discharge for week 13 --------------------------------
    # seeds/001: "prior to discharge": a week before the planned day (profile).
    s.live_until(ny(week(11, 0), "09:30"))
    [before] = s.event("discharge_planned", ny(week(11, 0), "10:00"), about=week(13))
    assert before.reason == "before_discharge"
    assert before.due_by == ny(week(12), "00:00")
    s.live_until(ny(week(11), "18:55"))
    s.reach(before, ny(week(11), "19:00"))
    s.live_until(ny(week(13), "09:30"))
    [done] = s.event("completed", ny(week(13), "10:00"))
    assert (done.reason, done.due_by) == ("completed", ny(week(13), "10:00") + 3 * DAY)
    s.live_until(ny(week(13, 3), "11:00"))
    s.reach(done, ny(week(13, 3), "12:00"))
    s.live_until(ny(week(14, 0), "09:30"))

    # --- the whole record: victim driven, and nothing else --------------------------------
    assert s.record() == [
        Seen("intake", "completed", ny(week(0), "09:00"), ny(week(0), "09:00") + 7 * DAY),
        Seen("periodic_check_in", "completed", reached + 30 * DAY, reached + 37 * DAY),
        Seen(
            "level_change", "completed", ny(week(6, 0), "10:00"), ny(week(6, 0), "10:00") + 5 * DAY
        ),
        Seen("safety_concern", "completed", ny(week(10, 2), "10:00"), concern.due_by),
        Seen("before_discharge", "completed", ny(week(11, 0), "10:00"), ny(week(12), "00:00")),
        Seen("completed", "completed", ny(week(13), "10:00"), ny(week(13), "10:00") + 3 * DAY),
    ]
    # Heads-up texts only before calls she allowed, never while calls were off (S1).
    # One before each Tuesday call: the check-in, the level change, the discharge.
    assert [at for at, _ in s.texts()] == [
        ny(week(5), "18:50"),
        ny(week(6), "18:50"),
        ny(week(11), "18:50"),
    ]
    assert s.calls() == []


def test_a_victim_who_wants_no_contact_gets_none(story: Story) -> None:
    """seeds/001 "Colorado": "Victim contact is victim driven. If the victim does not want
    contact, it is not required." After her "no", his level change, a safety issue, the
    planned discharge and the discharge itself open nothing for her (S1)."""
    s = story
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    s.live_until(ny(week(0, 3), "11:00"))
    s.attempt(intake, ny(week(0, 3), "12:00"), "declined")
    for kind, n in (("level_change", 4), ("safety_concern", 7)):
        s.live_until(ny(week(n), "09:30"))
        assert s.event(kind, ny(week(n), "10:00")) == []
    s.live_until(ny(week(11), "09:30"))
    assert s.event("discharge_planned", ny(week(11), "10:00"), about=week(13)) == []
    s.live_until(ny(week(13), "09:30"))
    assert s.event("completed", ny(week(13), "10:00")) == []
    s.live_until(ny(week(14, 0), "09:30"))
    assert [(t.reason, t.status) for t in s.tasks()] == [("intake", "cancelled")]
    assert s.texts() == []
