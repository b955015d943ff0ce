"""Emerge (Massachusetts): thirteen weeks of one case, as the partner contact coordinator
lives it.

Seed: seeds/001, "Massachusetts". "At the onset of the victim contact process, partner contact
coordinators ... conduct a structured interview with victims"; the coordinator "contacts them
every eight to ten weeks at a minimum, if the victim desires"; "Advocates contact victims
immediately if there is an explicit threat to harm them or their children"; "Within 10 days of
program termination or completion, the victim advocate sends a letter to inform the victim."

The story: he enrols; the coordinator's structured interview; she wants calls only (no
texts) every eight to ten weeks; her check-in; a facilitator hears an explicit threat; he is
terminated, and she has named no safe mailing address, so the coordinator calls instead.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import Attempt
from outreach.runtime import Runtime
from outreach.security.vault import Vault
from outreach.services.errors import Conflict
from tests.fakes import RecordingChannel
from tests.scenarios.story import DAY, Seen, Story, begin, ny, week


@pytest.fixture
def story(db: Session, vault: Vault, rt: Runtime, channel: RecordingChannel) -> Story:
    return begin(db, vault, rt, channel, protocol="emerge")


def test_thirteen_weeks_of_an_emerge_case(story: Story) -> None:
    s = story
    # --- week 0: the structured interview ---------------------------------------------------
    # seeds/001: "At the onset ... conduct a structured interview with victims" (two weeks).
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    assert (intake.reason, intake.channels) == ("intake", ["voice"])
    assert intake.due_by == ny(week(0), "09:00") + 14 * DAY
    s.live_until(ny(week(1), "18:55"))
    s.attempt(intake, ny(week(1), "19:00"), "no_answer")
    s.live_until(ny(week(1), "19:35"))
    s.attempt(intake, ny(week(1), "19:40"), "no_answer")
    # S5: two attempts in one group session are one window: not yet unreachable.
    with pytest.raises(Conflict):
        s.close_unreachable(intake, ny(week(1), "19:45"))
    s.db.rollback()
    s.live_until(ny(week(1, 3), "11:00"))
    interviewed = ny(week(1, 3), "12:00")
    s.reach(intake, interviewed)
    # In the interview she agrees to calls, not texts (S1), and wants no check-ins for now.
    s.her_word(interviewed, consent="consented")
    s.live_until(ny(week(7, 0), "09:30"))
    # "if the victim desires": no check-in until she asks for one (S13).
    assert s.tasks("periodic_check_in") == []
    # She calls back: she would like the coordinator to check in every eight to ten weeks.
    s.her_word(ny(week(7, 0), "10:00"), cadence="every_8_to_10_weeks")

    # --- week 9: "every eight to ten weeks at a minimum" -------------------------------------
    s.live_until(ny(week(9, 3), "19:30"))
    check_in = s.open_task("periodic_check_in")
    assert check_in.opens_at == interviewed + 56 * DAY  # eight weeks after the interview
    assert check_in.due_by == interviewed + 70 * DAY  # and by ten
    assert check_in.channels == ["voice"]
    s.live_until(ny(week(10), "18:55"))
    s.reach(check_in, ny(week(10), "19:00"))

    # --- week 11: an explicit threat ---------------------------------------------------------
    # seeds/001: "contact victims immediately if there is an explicit threat".
    s.live_until(ny(week(11, 3), "09:30"))
    [threat] = s.event("safety_concern", ny(week(11, 3), "10:00"), severity="high")
    assert (threat.reason, threat.opens_at) == ("safety_concern", ny(week(11, 3), "10:00"))
    assert threat.min_attempts == 4  # more attempts for higher severity (profile)
    # S8: "callable at once within calling hours, not at the next group session".
    assert s.windows(threat)[0].start == ny(week(11, 3), "10:00")
    s.reach(threat, ny(week(11, 3), "10:20"))

    # --- week 12: he is terminated -----------------------------------------------------------
    s.live_until(ny(week(12, 0), "09:30"))
    [after] = s.event("terminated", ny(week(12, 0), "10:00"))
    # seeds/001: "Within 10 days of program termination": a letter needs a safe address and
    # her mail permission (S1); she gave neither, so the coordinator calls within the 10 days.
    # Added when letters land: with mail allowed and a safe address, this is a letter to print.
    assert (after.reason, after.channels) == ("termination_letter", ["voice"])
    assert after.due_by == ny(week(12, 0), "10:00") + 10 * DAY
    s.live_until(ny(week(12), "18:55"))
    s.reach(after, ny(week(12), "19:00"))
    s.live_until(ny(week(14, 0), "09:30"))

    # --- the whole record --------------------------------------------------------------------
    assert s.record() == [
        Seen("intake", "completed", ny(week(0), "09:00"), ny(week(0), "09:00") + 14 * DAY),
        Seen("periodic_check_in", "completed", interviewed + 56 * DAY, interviewed + 70 * DAY),
        Seen("safety_concern", "completed", ny(week(11, 3), "10:00"), threat.due_by),
        Seen(
            "termination_letter", "completed", ny(week(12, 0), "10:00"),
            ny(week(12, 0), "10:00") + 10 * DAY,
        ),
    ]  # fmt: skip
    # She never allowed texts: nothing was texted to her (S2).
    assert s.texts() == []
    assert s.calls() == []


def test_an_explicit_threat_reaches_her_when_she_said_no_calls_texts_are_fine(
    story: Story,
) -> None:
    """Found by this scenario: every profile's safety concern was calls only, so for her an
    explicit threat opened nothing and no one was told. Now it opens on the text she allows:
    one discreet invitation in a safe window (S4), and the task stays the liaison's until she
    is reached (vocabulary.INVITED_BY_TEXT)."""
    s = story
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    s.live_until(ny(week(0, 3), "11:00"))
    s.reach(intake, ny(week(0, 3), "12:00"))
    # S1: "no calls, texts are fine": she narrows by channel, she does not decline.
    s.her_word(ny(week(0, 3), "12:05"), consent="consented", voice=False, sms=True)
    s.live_until(ny(week(3, 3), "09:30"))
    # seeds/001: "Advocates contact victims immediately if there is an explicit threat to harm
    # them or their children." She allows texts: the contact must open on them.
    opened = s.event("safety_concern", ny(week(3, 3), "10:00"), severity="high")
    assert [(t.reason, t.channels) for t in opened] == [("safety_concern", ["sms"])]
    [concern] = opened
    s.live_until(ny(week(3, 4), "21:00"))
    # One discreet text, the check-in's: it invites her to reply or ask for a call and says
    # nothing of the threat, the program or him (S2); no call she turned off (S1).
    [(_, text)] = s.texts()
    assert "CALL" in text.body
    assert "Emerge" not in text.body
    assert s.calls() == []
    # The text only invited her: the task stays open until a liaison reaches her.
    assert s.open_task("safety_concern").id == concern.id
    [invited] = s.db.scalars(select(Attempt).where(Attempt.task_id == concern.id))
    assert (invited.outcome, invited.channel) == ("text_sent", "sms")
    # She replies CALL; the liaison reaches her, and only then is the threat's contact made.
    replied = s.now + timedelta(minutes=5)
    s.she_texts("CALL", replied)
    s.her_word(replied + timedelta(minutes=10), voice=True)
    s.reach(s.open_task("safety_concern"), replied + timedelta(minutes=20))
    assert [t.status for t in s.tasks("safety_concern")] == ["completed"]
