"""Caring Dads: thirteen weeks of mother contact, as the mother contact advocate lives them.

Seed: seeds/001, "Caring Dads". "Mother contact calls are made voluntary for the mothers and
they can decline. For consenting mothers, calls are made weekly and are confidential";
advocates "encourage and support mother's autonomy" and "give them the freedom to choose
their level of involvement". S13: she may choose a slower rhythm, or none, without declining.

The story: he enrols; the advocate reaches her, she consents to calls and texts; weekly calls;
she asks for every two weeks; then "no calls, texts are fine" (her check-in becomes a discreet
text); she texts STOP, and nothing reaches her; she asks for calls again; he completes.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from outreach.runtime import Runtime
from outreach.security.vault import Vault
from tests.fakes import RecordingChannel
from tests.scenarios.story import DAY, MINUTE, Story, begin, ny, week


@pytest.fixture
def story(db: Session, vault: Vault, rt: Runtime, channel: RecordingChannel) -> Story:
    return begin(db, vault, rt, channel, protocol="caring_dads")


def test_thirteen_weeks_of_mother_contact(story: Story) -> None:
    s = story
    # --- week 0: he enrols; the first call -------------------------------------------------
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    assert (intake.reason, intake.due_by) == ("intake", ny(week(0), "09:00") + 7 * DAY)
    s.live_until(ny(week(0), "18:40"))
    assert s.texts() == []  # not yet asked: no text (S1)
    reached = ny(week(0), "18:45")
    s.reach(intake, reached)
    s.her_word(reached, consent="consented", sms=True)

    # --- weeks 1-3: "For consenting mothers, calls are made weekly" -----------------------
    for _week in (1, 2, 3):
        s.live_until(reached + 7 * DAY - DAY / 2)
        assert [t for t in s.tasks("periodic_check_in") if t.status == "open"] == []
        s.live_until(reached + 7 * DAY + 25 * MINUTE)  # the scheduler's next run opens it
        check_in = s.open_task("periodic_check_in")
        assert check_in.opens_at == reached + 7 * DAY  # a week after she was last reached
        assert check_in.due_by == reached + 9 * DAY  # the week's two-day window (profile)
        reached = s.now + 5 * MINUTE
        s.reach(check_in, reached)
    # A heads-up text before each of those Tuesday calls (consented reminders).
    # Each call fell in a window already begun: no heads-up text came too late to help.
    assert [at for at, _ in s.texts()] == []

    # --- week 3: "every two weeks is better" (her level of involvement) -------------------
    s.her_word(reached + DAY, cadence="fortnightly")
    s.live_until(reached + 14 * DAY + 13 * 60 * MINUTE)  # the next morning run
    check_in = s.open_task("periodic_check_in")
    assert check_in.opens_at == reached + 14 * DAY
    reached = s.now + 5 * MINUTE
    s.reach(check_in, reached)

    # --- week 6: "no calls, texts are fine" -------------------------------------------------
    # S1: narrowing by channel; PRODUCT.md: where she chose texts over calls, her check-in is
    # one discreet text inviting her to reply or ask for a call.
    texts_before = len(s.texts())
    s.her_word(ny(week(6, 3), "12:00"), voice=False)
    s.live_until(ny(week(8, 6), "20:00"))  # sent in his next group time (S4)
    texted = s.tasks("periodic_check_in")[-1]
    assert texted.opens_at == reached + 14 * DAY
    assert texted.channels == ["sms"]
    [(_, invite)] = s.texts()[texts_before:]
    for word in ("program", "caring", "dads", "father", "partner"):
        assert word not in invite.body.lower()  # S2: neutral, never the program or him

    # --- week 9: she texts STOP: nothing reaches her any more -----------------------------
    s.she_texts("STOP", ny(week(9, 0), "08:00"))
    s.live_until(ny(week(11, 0), "09:30"))
    assert s.texts()[texts_before + 1 :] == []
    assert [t for t in s.tasks() if t.status == "open"] == []  # no channel left to use

    # --- week 11: she wants calls again; week 12: he completes -------------------------------
    s.her_word(ny(week(11, 0), "10:00"), voice=True, cadence="none")
    s.live_until(ny(week(12), "09:30"))
    [done] = s.event("completed", ny(week(12), "10:00"))
    assert (done.reason, done.channels) == ("completed", ["voice"])
    assert done.due_by == ny(week(12), "10:00") + 7 * DAY
    s.live_until(ny(week(12), "18:55"))
    s.reach(done, ny(week(12), "19:00"))
    s.live_until(ny(week(14, 0), "09:30"))

    # --- the whole record --------------------------------------------------------------------
    reasons = [(t.reason, t.status) for t in s.tasks()]
    assert reasons == [
        ("intake", "completed"),
        *[("periodic_check_in", "completed")] * 5,
        ("completed", "completed"),
    ]
    # After STOP no text reached her, and with cadence "none" no check-in opened (S2, S13).
    assert len(s.texts()) == texts_before + 1
    assert s.calls() == []


def test_her_texted_check_in_waits_for_a_night_he_is_in_group(story: Story) -> None:
    """S4: a text may arrive only in a window where he is in group or she named the time as
    safe, "never in a session he did not attend"; PRODUCT.md: her check-in is a discreet text
    where she chose texts over calls. Planned in the morning for tonight, it is not sent on a
    night he is marked absent, and goes the next week he is there."""
    s = story
    [intake] = s.event("enrolled", ny(week(0, 0), "09:00"))  # Monday
    s.reach(intake, ny(week(0, 0), "12:00"))
    s.her_word(ny(week(0, 0), "12:05"), consent="consented", voice=False, sms=True)
    s.live_until(ny(week(1), "09:05"))  # the check-in opened; tonight's text is planned
    assert [t.channels for t in s.tasks("periodic_check_in")] == [["sms"]]
    s.attendance(week(1), "absent")
    s.live_until(ny(week(1), "21:00"))
    assert s.texts() == []
    s.live_until(ny(week(2), "18:30"))
    s.attendance(week(2), "present")
    s.live_until(ny(week(2), "21:00"))
    assert [at for at, _ in s.texts()] == [ny(week(2), "18:50")]


def test_a_mother_who_declines_hears_nothing_but_a_confirmed_warning(story: Story) -> None:
    """seeds/001: "Mother contact calls are made voluntary for the mothers and they can
    decline." S1: declined is no further contact of any kind; only a supervisor-confirmed
    duty to warn reaches her."""
    s = story
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    s.live_until(ny(week(0, 3), "11:00"))
    s.attempt(intake, ny(week(0, 3), "12:00"), "declined")
    assert s.preferences().consent == "declined"
    s.live_until(ny(week(6, 2), "09:30"))
    assert s.event("safety_concern", ny(week(6, 2), "10:00")) == []
    s.live_until(ny(week(8, 2), "09:30"))
    [warning] = s.event("duty_to_warn", ny(week(8, 2), "10:00"), severity="high")
    s.confirm_warning(warning, ny(week(8, 2), "10:05"))
    s.reach(warning, ny(week(8, 2), "10:15"))
    s.live_until(ny(week(12), "09:30"))
    assert s.event("completed", ny(week(12), "10:00")) == []
    s.live_until(ny(week(14, 0), "09:30"))
    # No weekly call ever opened: "calls are made weekly" only "for consenting mothers".
    assert [(t.reason, t.status) for t in s.tasks()] == [
        ("intake", "cancelled"),  # her "no", in the log, ended it with every other contact
        ("duty_to_warn", "completed"),
    ]
    assert s.texts() == []
