"""Georgia FVIP with Caminar Latino: thirteen weeks of one case, as the victim advocate lives it.

Seed: seeds/001, "Georgia" (Georgia Commission on Family Violence standards) and "Caminar
Latino". Contact is required when "1) a participant enters, completes, or is terminated from
class; 2) a participant requests a leave of absence; 3) the program cancels class for any
reason; and 4) there is a duty to warn situation." "Initially, victim liaisons make 'cold
calls' to all of the victims"; "Victim liaisons make a minimum of two attempts". Caminar
Latino: advocates "check in with victims before submitting progress reports to the court".

The story: he enrols on a Tuesday; the advocate cold-calls her and she agrees to calls and
texts in Spanish; a class is cancelled; a court report comes due; he misses a night, takes a
leave and comes back; she texts STOP, a facilitator raises a safety concern, she texts START;
a second court report; he is terminated. The scheduler runs twice a day throughout.
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
    # The referral gives her number only: she has not been asked yet (S1).
    return begin(db, vault, rt, channel, protocol="georgia_fvip")


def test_thirteen_weeks_of_a_caminar_latino_case(story: Story) -> None:
    s = story
    # --- week 0: he enters class; the advocate's cold call -------------------------------
    # seeds/001: contact when "a participant enters ... class"; "Initially, victim liaisons
    # make 'cold calls' to all of the victims": a call, even before she was asked (S1).
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    assert (intake.reason, intake.channels) == ("intake", ["voice"])
    assert intake.due_by == ny(week(0), "09:00") + 5 * DAY  # within the 5 days of 105-3-.07
    s.live_until(ny(week(0), "18:55"))
    # S1: "not yet asked" allows only the liaison's own first call: no text reaches her.
    assert s.texts() == []
    s.attempt(intake, ny(week(0), "19:00"), "no_answer")
    s.live_until(ny(week(0, 3), "11:00"))
    s.reach(intake, ny(week(0, 3), "12:00"))
    # S12: Caminar Latino is Spanish-first; she asks for Spanish, calls and texts.
    s.her_word(ny(week(0, 3), "12:05"), consent="consented", sms=True, language="es")
    s.live_until(ny(week(2, 0), "14:00"))

    # --- week 2: the program cancels Tuesday's class --------------------------------------
    # seeds/001: "3) the program cancels class for any reason": the cancellation alone opens
    # her contact, within a day (config/protocols/georgia_fvip.toml), on calls and texts she
    # allows.
    s.cancel_class(week(2), ny(week(2, 0), "15:00"))
    cancelled = s.open_task("class_cancelled")
    assert cancelled.channels == ["voice", "sms"]
    assert cancelled.due_by == ny(week(2), "15:00")
    s.reach(cancelled, ny(week(2, 0), "17:00"))

    # --- week 2, Thursday: a progress report to the court is due on the 17th -------------
    # seeds/001, Caminar Latino: "Victim advocates always check in with victims before
    # submitting progress reports to the court": due three days before the report's day.
    s.live_until(ny(week(2, 3), "09:30"))
    [court] = s.event("progress_report_due", ny(week(2, 3), "10:00"), about=week(4, 3))
    assert court.reason == "progress_report_check_in"
    assert court.due_by == ny(week(4, 0), "00:00")
    s.live_until(ny(week(3), "18:55"))
    # PRODUCT.md "Consented reminders": one discreet heads-up text before the window in which
    # the advocate plans to call (his group time, S4), because she consented to texts.
    [(sent_at, heads_up)] = s.texts()
    assert sent_at == ny(week(3), "18:50")
    for word in ("program", "programa", "grupo", "group", "court", "corte", "class", "clase"):
        assert word not in heads_up.body.lower()  # S2: never the program or the reason
    assert heads_up.body.startswith("Hola")  # S12: in the language she uses
    s.reach(court, ny(week(3), "19:00"))

    # --- week 4: he misses group; week 5: he asks for a leave ---------------------------
    s.attendance(week(4), "absent")
    s.live_until(ny(week(5, 0), "09:30"))
    # Added when status updates land: "general updates on the abusive partner's attendance
    # and progress" (seeds/001, Georgia) open an update task where she opted in.
    # seeds/001: "2) a participant requests a leave of absence": within two days.
    [leave] = s.event("leave_of_absence", ny(week(5, 0), "10:00"))
    assert (leave.reason, leave.channels) == ("leave_of_absence", ["voice"])
    assert leave.due_by == ny(week(5, 2), "10:00")
    s.attempt(leave, ny(week(5, 0), "19:00"), "no_answer")
    # seeds/001: "Victim liaisons make a minimum of two attempts" (S5): one is not enough.
    with pytest.raises(Conflict):
        s.close_unreachable(leave, ny(week(5, 0), "19:05"))
    s.db.rollback()
    s.live_until(ny(week(5, 1), "11:00"))
    s.attempt(leave, ny(week(5, 1), "12:00"), "no_answer")  # another day, another window
    s.close_unreachable(leave, ny(week(5, 1), "12:05"))
    s.live_until(ny(week(7, 0), "09:30"))
    # He comes back from leave: the seed requires no contact for a return.
    assert s.event("returned_from_leave", ny(week(7, 0), "10:00")) == []

    # --- week 8: she texts STOP; a facilitator is worried for her ------------------------
    s.she_texts("¡Parar!", ny(week(8, 0), "08:00"))  # S2: the Spanish keyword
    assert s.preferences().sms is False  # S2: at once and for good (until her START)
    # Another class is cancelled: her contact opens on calls only now (S1, S2).
    s.cancel_class(week(8), ny(week(8, 0), "09:00"))
    cancelled_2 = s.open_task("class_cancelled")
    assert cancelled_2.channels == ["voice"]
    with pytest.raises(Invalid):  # S1: an attempt on a channel she turned off is refused
        s.attempt(cancelled_2, ny(week(8, 0), "09:05"), "no_answer", channel="sms")
    s.db.rollback()
    s.reach(cancelled_2, ny(week(8, 0), "12:00"))
    # seeds/001 (MSV): "When MSV facilitators are concerned for a victim's safety, they bring
    # their concerns to the victim liaison's attention"; S8: callable at once, by voice.
    [concern] = s.event("safety_concern", ny(week(8, 2), "10:00"), severity="elevated")
    assert (concern.reason, concern.channels) == ("safety_concern", ["voice"])
    assert concern.opens_at == ny(week(8, 2), "10:00")
    s.live_until(ny(week(8, 2), "10:30"))
    s.reach(concern, ny(week(8, 2), "11:00"))
    s.live_until(ny(week(9, 0), "07:00"))
    s.she_texts("Comenzar", ny(week(9, 0), "08:00"))  # S2: START re-enables texts only

    # --- week 10: the next court report ---------------------------------------------------
    s.live_until(ny(week(9, 3), "09:30"))
    [court_2] = s.event("progress_report_due", ny(week(9, 3), "10:00"), about=week(11, 3))
    assert court_2.due_by == ny(week(11, 0), "00:00")
    s.live_until(ny(week(10), "18:55"))
    s.reach(court_2, ny(week(10), "19:00"))

    # --- week 12: he is terminated ------------------------------------------------------
    # seeds/001: contact when a participant "is terminated from class": within two days.
    s.live_until(ny(week(12), "09:30"))
    [ended] = s.event("terminated", ny(week(12), "10:00"))
    assert (ended.reason, ended.due_by) == ("terminated", ny(week(12), "10:00") + 2 * DAY)
    s.reach(ended, ny(week(12, 2), "12:00"))
    s.live_until(ny(week(13, 0), "09:30"))

    # --- the whole record: every contact the seed requires, and nothing else -----------
    assert s.record() == [
        Seen("intake", "completed", ny(week(0), "09:00"), ny(week(0), "09:00") + 5 * DAY),
        Seen(
            "class_cancelled",
            "completed",
            ny(week(2, 0), "15:00"),
            ny(week(2), "15:00"),
            ("voice", "sms"),
        ),
        Seen(
            "progress_report_check_in",
            "completed",
            ny(week(2, 3), "10:00"),
            ny(week(4, 0), "00:00"),
        ),
        Seen("leave_of_absence", "unreachable", ny(week(5, 0), "10:00"), ny(week(5, 2), "10:00")),
        Seen("class_cancelled", "completed", ny(week(8, 0), "09:00"), ny(week(8), "09:00")),
        Seen("safety_concern", "completed", ny(week(8, 2), "10:00"), concern.due_by),
        Seen(
            "progress_report_check_in",
            "completed",
            ny(week(9, 3), "10:00"),
            ny(week(11, 0), "00:00"),
        ),
        Seen("terminated", "completed", ny(week(12), "10:00"), ny(week(12), "10:00") + 2 * DAY),
    ]
    # S2: no text between her STOP and her START; one heads-up before each planned call.
    assert [at for at, _ in s.texts()] == [ny(week(3), "18:50"), ny(week(10), "18:50")]
    # The scheduler places no call on its own: every call here was the advocate's.
    assert s.calls() == []


def test_no_heads_up_text_on_a_night_he_is_absent_from_group(
    db: Session, vault: Vault, rt: Runtime, channel: RecordingChannel
) -> None:
    """S4: group time is a safe window only while he is actually in group, "never in a
    session he did not attend"; PRODUCT.md "Consented reminders": the heads-up goes before a
    window in which the liaison plans to call. On a night he is marked absent he may be home:
    no "I'll call you today" text may reach her."""
    s = begin(db, vault, rt, channel, protocol="georgia_fvip", consent="consented", sms=True)
    [intake] = s.event("enrolled", ny(week(0, 0), "09:00"))  # Monday
    s.live_until(ny(week(0), "09:05"))  # Tuesday's morning run plans tonight's heads-up
    s.attendance(week(0), "absent")  # 18:40: he did not come
    s.live_until(ny(week(0), "21:00"))
    assert s.texts() == []
    # The next Tuesday he is there: the heads-up goes before that night's window.
    s.live_until(ny(week(1), "18:30"))
    s.attendance(week(1), "present")
    s.live_until(ny(week(1), "18:55"))
    assert [at for at, _ in s.texts()] == [ny(week(1), "18:50")]
    assert intake.status == "open"


@pytest.mark.parametrize("news", ["class_cancelled", "leave_of_absence", "terminated"])
def test_no_heads_up_text_once_tonights_window_is_gone(
    db: Session, vault: Vault, rt: Runtime, channel: RecordingChannel, news: str
) -> None:
    """S4: "never ... in a session ... that was cancelled", and never once he "was terminated,
    left or went on leave (then he may be home)". The morning run planned tonight's heads-up;
    news in the afternoon takes tonight's window away, and the text with it."""
    s = begin(db, vault, rt, channel, protocol="georgia_fvip", consent="consented", sms=True)
    s.event("enrolled", ny(week(0, 0), "09:00"))  # Monday
    s.live_until(ny(week(0), "09:05"))  # Tuesday's morning run plans tonight's heads-up
    if news == "class_cancelled":
        s.cancel_class(week(0), ny(week(0), "15:00"))
    else:
        s.event(news, ny(week(0), "15:00"))
    s.live_until(ny(week(0), "21:00"))
    assert s.texts() == []


def test_no_heads_up_text_once_she_said_no_more_calls_that_afternoon(
    db: Session, vault: Vault, rt: Runtime, channel: RecordingChannel
) -> None:
    """S1: "no calls, texts are fine" is hers to say at any time; PRODUCT.md: the heads-up is
    for "a window in which a liaison plans to call". Once she turned calls off no call is
    planned, so "I'll call you today" must not reach her."""
    s = begin(db, vault, rt, channel, protocol="georgia_fvip", consent="consented", sms=True)
    s.event("enrolled", ny(week(0, 0), "09:00"))  # Monday
    s.live_until(ny(week(0), "09:05"))  # Tuesday's morning run plans tonight's heads-up
    s.her_word(ny(week(0), "12:00"), voice=False)
    s.live_until(ny(week(0), "21:00"))
    assert s.texts() == []


def test_a_caminar_latino_victim_who_wants_frequent_contact_gets_check_ins(
    db: Session, vault: Vault, rt: Runtime, channel: RecordingChannel
) -> None:
    """seeds/001 Caminar Latino: "contact is guided by victims; some want frequent contact and
    others do not want any" (S13). Found by this scenario: the Georgia profile offered no
    rhythm, so her wish was refused (422 on cadence); it now offers weekly to quarterly, with
    no default."""
    s = begin(db, vault, rt, channel, protocol="georgia_fvip")
    [intake] = s.event("enrolled", ny(week(0), "09:00"))
    s.live_until(ny(week(0, 3), "11:00"))
    reached = ny(week(0, 3), "12:00")
    s.reach(intake, reached)
    s.her_word(reached, consent="consented", cadence="monthly")
    s.live_until(ny(week(5), "09:30"))
    assert s.open_task("periodic_check_in").opens_at == reached + 30 * DAY
