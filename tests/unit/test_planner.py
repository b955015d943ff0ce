"""The call-window planner (S1, S4, S5, S8), with time always passed in.

Persona: Dana is the contact person; her ex-partner attends a Tuesday/Thursday 19:00
group in New York. Times in comments are New York local unless said otherwise.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from outreach.domain.participation import Mark, Timeline
from outreach.domain.planning.group_sessions import GroupSchedule, group_sessions
from outreach.domain.planning.inputs import ContactSchedule, PlanItem, PlanningRules, TaskToPlan
from outreach.domain.planning.planner import plan, plan_task
from outreach.domain.planning.safe_times import SafeTime
from outreach.domain.planning.time_zones import candidate_zones
from outreach.domain.planning.windows import CallWindow, SkipReason
from outreach.domain.vocabulary import Consent, EventType, TaskReason, WindowKind

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
RULES = PlanningRules()
# Monday 2 March 2026, 09:00 in New York.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=NY)
TUESDAY, THURSDAY = date(2026, 3, 3), date(2026, 3, 5)


def ny(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY).astimezone(UTC)


def make_group(**changes: object) -> GroupSchedule:
    group = GroupSchedule(
        group_id="tue-thu-evening",
        timezone="America/New_York",
        rrule="FREQ=WEEKLY;BYDAY=TU,TH",
        start_time=time(19, 0),
        duration_minutes=90,
        starts_on=date(2026, 1, 6),
    )
    return replace(group, **changes)  # type: ignore[arg-type]


def make_dana(**changes: object) -> ContactSchedule:
    dana = ContactSchedule(
        contact_id="dana",
        consent=Consent.CONSENTED,
        voice=True,
        sms=False,
        voicemail=False,
        timezones=("America/New_York",),
    )
    return replace(dana, **changes)  # type: ignore[arg-type]


def make_task(**changes: object) -> TaskToPlan:
    task = TaskToPlan(
        task_id="intake-1",
        contact_id="dana",
        reason=TaskReason.INTAKE,
        due_by=NOW + timedelta(days=7),
    )
    return replace(task, **changes)  # type: ignore[arg-type]


def windows_for(
    task: TaskToPlan | None = None,
    group: GroupSchedule | None = None,
    contact: ContactSchedule | None = None,
    *,
    rules: PlanningRules = RULES,
    now: datetime = NOW,
    days: int = 7,
) -> list[CallWindow]:
    result = plan_task(
        task or make_task(),
        group or make_group(),
        contact or make_dana(),
        rules,
        now=now,
        horizon_days=days,
    )
    return list(result.windows)


def skipped_reasons(**kwargs: object) -> dict[date | None, SkipReason]:
    result = plan_task(
        kwargs.get("task", make_task()),  # type: ignore[arg-type]
        kwargs.get("group", make_group()),  # type: ignore[arg-type]
        kwargs.get("contact", make_dana()),  # type: ignore[arg-type]
        RULES,
        now=NOW,
        horizon_days=7,
    )
    return {s.session_date: s.reason for s in result.skipped}


# --- group windows (S4)


def test_it_proposes_each_session_minus_settle_in_and_leave_early_buffers() -> None:
    windows = windows_for()
    assert [(w.start, w.end) for w in windows] == [
        (ny(TUESDAY, 19, 15), ny(TUESDAY, 20, 15)),
        (ny(THURSDAY, 19, 15), ny(THURSDAY, 20, 15)),
    ]
    assert all(w.kind is WindowKind.GROUP and w.group_id == "tue-thu-evening" for w in windows)


def test_a_19_00_session_stays_19_00_local_across_the_dst_change() -> None:
    # DST starts on Sunday 8 March 2026: UTC offsets move, the wall clock does not.
    windows = windows_for(days=10)
    local_starts = {w.start.astimezone(NY).time() for w in windows}
    assert local_starts == {time(19, 15)}
    assert {w.start.utcoffset() for w in windows} == {timedelta(0)}
    assert ny(date(2026, 3, 10), 19, 15) - ny(TUESDAY, 19, 15) == timedelta(days=7, hours=-1)


def test_it_never_proposes_a_cancelled_session() -> None:
    group = make_group(cancelled=frozenset({TUESDAY}))
    assert [w.session_date for w in windows_for(group=group)] == [THURSDAY]
    assert skipped_reasons(group=group)[TUESDAY] is SkipReason.SESSION_CANCELLED


def test_it_flags_a_session_the_participant_missed_and_does_not_propose_it() -> None:
    task = make_task(attendance={TUESDAY: False})
    assert [w.session_date for w in windows_for(task)] == [THURSDAY]
    assert skipped_reasons(task=task)[TUESDAY] is SkipReason.PARTICIPANT_NOT_IN_GROUP


def test_it_marks_whether_the_participant_is_known_to_be_present() -> None:
    windows = windows_for(make_task(attendance={TUESDAY: True}))
    assert [w.participant_present for w in windows] == [True, None]


def test_it_never_proposes_a_session_already_attempted() -> None:
    task = make_task(attempted_sessions=frozenset({("tue-thu-evening", TUESDAY)}))
    assert [w.session_date for w in windows_for(task)] == [THURSDAY]
    assert skipped_reasons(task=task)[TUESDAY] is SkipReason.ALREADY_ATTEMPTED


def test_it_clips_a_session_in_progress_at_now() -> None:
    now = ny(TUESDAY, 19, 40)
    first = windows_for(now=now)[0]
    assert (first.start, first.end) == (now, ny(TUESDAY, 20, 15))


def test_it_proposes_nothing_beyond_the_horizon() -> None:
    windows = windows_for(days=2)
    assert [w.session_date for w in windows] == [TUESDAY]


def test_it_proposes_no_session_after_the_group_ends() -> None:
    assert [w.session_date for w in windows_for(group=make_group(ends_on=TUESDAY))] == [TUESDAY]


def test_group_time_counts_only_inside_the_contacts_safe_times() -> None:
    dana = make_dana(safe_times=(SafeTime.parse("TU", "19:30", "20:00"),), only_during_group=True)
    windows = windows_for(contact=dana)
    assert [(w.start, w.end) for w in windows] == [(ny(TUESDAY, 19, 30), ny(TUESDAY, 20, 0))]
    assert skipped_reasons(contact=dana)[THURSDAY] is SkipReason.OUTSIDE_SAFE_TIMES


def test_it_cuts_a_late_session_at_the_end_of_calling_hours() -> None:
    windows = windows_for(group=make_group(start_time=time(20, 0)))
    assert windows[0].end == ny(TUESDAY, 21, 0)


def test_calling_hours_hold_in_every_candidate_zone() -> None:
    # 19:00 in Los Angeles is 22:00 in New York: too late if Dana may be on the east coast.
    group = make_group(timezone="America/Los_Angeles")
    dana = make_dana(timezones=("America/Los_Angeles", "America/New_York"))
    assert windows_for(group=group, contact=dana) == []
    assert set(skipped_reasons(group=group, contact=dana).values()) == {
        SkipReason.OUTSIDE_CALLING_HOURS
    }


def test_stricter_state_hours_apply_and_an_unknown_state_gets_the_strictest() -> None:
    rules = PlanningRules(region_hours=(("FL", time(8), time(20)), ("XX", time(9), time(20, 30))))
    group = make_group(start_time=time(19, 30))
    in_florida = windows_for(group=group, contact=make_dana(region="FL"), rules=rules)
    unknown = windows_for(group=group, contact=make_dana(region=None), rules=rules)
    elsewhere = windows_for(group=group, contact=make_dana(region="NY"), rules=rules)
    assert in_florida[0].end == unknown[0].end == ny(TUESDAY, 20, 0)
    assert elsewhere[0].end == ny(TUESDAY, 20, 45)


# --- preferred windows outside group (S4)


def test_it_proposes_times_outside_group_only_where_the_contact_named_them() -> None:
    dana = make_dana(safe_times=(SafeTime.parse("WE", "10:00", "12:00"),))
    preferred = [w for w in windows_for(contact=dana) if w.kind is WindowKind.PREFERRED]
    assert [(w.start, w.end) for w in preferred] == [
        (ny(date(2026, 3, 4), 10), ny(date(2026, 3, 4), 12))
    ]
    assert all(w.group_id is None and w.participant_present is None for w in preferred)


def test_it_proposes_no_outside_time_when_the_contact_wants_group_time_only() -> None:
    dana = make_dana(safe_times=(SafeTime.parse("WE", "10:00", "12:00"),), only_during_group=True)
    assert windows_for(contact=dana) == []


def test_a_named_safe_time_never_reaches_into_group_time_as_preferred() -> None:
    # Safe all Tuesday evening, but the participant missed Tuesday's group.
    dana = make_dana(safe_times=(SafeTime.parse("TU", "17:00", "21:00"),))
    task = make_task(attendance={TUESDAY: False})
    windows = windows_for(task, contact=dana)
    assert [(w.kind, w.start, w.end) for w in windows] == [
        (WindowKind.PREFERRED, ny(TUESDAY, 17), ny(TUESDAY, 19)),
        (WindowKind.PREFERRED, ny(TUESDAY, 20, 30), ny(TUESDAY, 21)),
    ]


def test_an_overnight_safe_time_is_still_cut_to_calling_hours() -> None:
    dana = make_dana(safe_times=(SafeTime.parse("WE", "20:00", "09:00"),))
    preferred = [w for w in windows_for(contact=dana) if w.kind is WindowKind.PREFERRED]
    thursday = date(2026, 3, 5)
    assert [(w.start, w.end) for w in preferred] == [
        (ny(date(2026, 3, 4), 20), ny(date(2026, 3, 4), 21)),
        (ny(thursday, 8), ny(thursday, 9)),
    ]


def test_a_contact_without_a_group_gets_only_named_safe_times() -> None:
    dana = make_dana(safe_times=(SafeTime.parse("MO", "10:00", "11:00"),))
    result = plan_task(make_task(), None, dana, RULES, now=NOW, horizon_days=7)
    assert [(w.kind, w.start) for w in result.windows] == [
        (WindowKind.PREFERRED, ny(NOW.date(), 10))
    ]


# --- consent and channels (S1)


# --- the time she asked to be called back at (S6)

WEDNESDAY = date(2026, 3, 4)


def callback_windows(task: TaskToPlan, **kwargs: object) -> list[tuple[datetime, datetime]]:
    windows = windows_for(task, **kwargs)  # type: ignore[arg-type]
    return [(w.start, w.end) for w in windows if w.kind is WindowKind.PREFERRED]


def test_a_callback_time_she_asked_for_is_proposed_for_half_an_hour() -> None:
    # She could not talk and asked for Wednesday 14:00; she named no other safe times.
    task = make_task(callback_at=ny(WEDNESDAY, 14))
    assert callback_windows(task) == [(ny(WEDNESDAY, 14), ny(WEDNESDAY, 14, 30))]


def test_a_callback_time_counts_even_when_she_otherwise_wants_group_time_only() -> None:
    task = make_task(callback_at=ny(WEDNESDAY, 14))
    dana = make_dana(
        only_during_group=True, safe_times=(SafeTime.parse("TU,TH", "19:00", "21:00"),)
    )
    assert callback_windows(task, contact=dana) == [(ny(WEDNESDAY, 14), ny(WEDNESDAY, 14, 30))]


def test_a_callback_time_is_cut_to_calling_hours_and_refused_outside_them() -> None:
    late = make_task(callback_at=ny(WEDNESDAY, 20, 45))
    assert callback_windows(late) == [(ny(WEDNESDAY, 20, 45), ny(WEDNESDAY, 21))]
    night = make_task(callback_at=ny(WEDNESDAY, 22))
    assert callback_windows(night) == []
    assert skipped_reasons(task=night) == {None: SkipReason.OUTSIDE_CALLING_HOURS}


def test_a_callback_over_a_session_he_missed_or_that_was_cancelled_is_refused() -> None:
    # She asked for Tuesday 19:30, his group time: she may have counted on him being there.
    asked = make_task(callback_at=ny(TUESDAY, 19, 30))
    assert ny(TUESDAY, 19, 30) in [start for start, _ in callback_windows(asked)]
    missed = replace(asked, attendance={TUESDAY: False})
    assert callback_windows(missed) == []
    assert skipped_reasons(task=missed)[None] is SkipReason.PARTICIPANT_NOT_IN_GROUP
    cancelled = make_group(cancelled=frozenset({TUESDAY}))
    assert callback_windows(asked, group=cancelled) == []
    assert skipped_reasons(task=asked, group=cancelled)[None] is SkipReason.SESSION_CANCELLED


def test_a_callback_time_gone_by_is_proposed_no_more_and_one_under_way_runs_from_now() -> None:
    assert callback_windows(make_task(callback_at=NOW - timedelta(hours=1))) == []
    under_way = make_task(callback_at=NOW - timedelta(minutes=10))
    assert callback_windows(under_way) == [(NOW.astimezone(UTC), ny(NOW.date(), 9, 20))]


def test_a_declined_contact_is_not_called_back_at_any_time() -> None:
    task = make_task(callback_at=ny(WEDNESDAY, 14))
    assert windows_for(task, contact=make_dana(consent=Consent.DECLINED)) == []  # S1


def test_the_callback_window_lasts_as_long_as_the_protocol_says() -> None:
    task = make_task(callback_at=ny(WEDNESDAY, 14))
    rules = replace(RULES, callback_minutes=60)
    assert callback_windows(task, rules=rules) == [(ny(WEDNESDAY, 14), ny(WEDNESDAY, 15))]


def test_a_declined_contact_gets_no_windows_and_the_reason_is_given() -> None:
    result = plan_task(
        make_task(),
        make_group(),
        make_dana(consent=Consent.DECLINED),
        RULES,
        now=NOW,
        horizon_days=7,
    )
    assert result.windows == ()
    assert [s.reason for s in result.skipped] == [SkipReason.CONTACT_DECLINED]


def test_an_unconfirmed_duty_to_warn_does_not_reach_a_declined_contact() -> None:
    task = make_task(reason=TaskReason.DUTY_TO_WARN, duty_to_warn=True)
    assert windows_for(task, contact=make_dana(consent=Consent.DECLINED)) == []


def test_a_supervisor_confirmed_duty_to_warn_reaches_a_declined_contact() -> None:
    task = make_task(duty_to_warn=True, duty_to_warn_confirmed=True)
    windows = windows_for(task, contact=make_dana(consent=Consent.DECLINED))
    assert [w.kind for w in windows] == [WindowKind.DUTY_TO_WARN]


def test_no_call_windows_without_voice_permission_and_it_says_why() -> None:
    result = plan_task(
        make_task(), make_group(), make_dana(voice=False), RULES, now=NOW, horizon_days=7
    )
    assert result.windows == ()
    assert [s.reason for s in result.skipped] == [SkipReason.VOICE_NOT_PERMITTED]


# --- duty to warn (S8)


def test_duty_to_warn_is_callable_from_now_for_as_long_as_the_plan_looks_ahead() -> None:
    # S8 (amended): callable at once, and it stays callable until the task is done.
    task = make_task(reason=TaskReason.DUTY_TO_WARN, duty_to_warn=True)
    assert [(w.start, w.end, w.kind) for w in windows_for(task)] == [
        (NOW, NOW.astimezone(UTC) + timedelta(days=7), WindowKind.DUTY_TO_WARN)
    ]


def test_duty_to_warn_raised_at_night_is_callable_at_once_not_in_the_morning() -> None:
    # S8: "legal calling hours govern routine outreach, not an emergency warning" (issue 19).
    task = make_task(duty_to_warn=True)
    late = ny(NOW.date(), 23, 30)
    window = windows_for(task, now=late)[0]
    assert window.start == late
    assert window.kind is WindowKind.DUTY_TO_WARN


def test_duty_to_warn_ignores_calling_hours_in_every_candidate_zone() -> None:
    task = make_task(duty_to_warn=True)
    dana = make_dana(timezones=("America/New_York", "America/Los_Angeles"))
    early = ny(NOW.date(), 7, 0)  # 04:00 in Los Angeles
    window = windows_for(task, contact=dana, now=early)[0]
    assert window.start == early


def test_a_duty_to_warn_raised_after_the_plan_starts_opens_when_raised() -> None:
    raised = NOW + timedelta(hours=5, minutes=3)
    task = make_task(duty_to_warn=True, opens_at=raised)
    assert windows_for(task)[0].start == raised


# --- his status over time (S4, issue 19)


def timeline(*events: tuple[EventType, datetime]) -> Timeline:
    marks = [Mark(kind, at, at) for kind, at in events]
    return Timeline(marks, NOW - timedelta(days=60))


def test_no_group_time_after_he_was_terminated() -> None:
    # Terminated Wednesday: Tuesday's session is still group time, Thursday's is not.
    wednesday = ny(date(2026, 3, 4), 12)
    task = make_task(timeline=timeline((EventType.TERMINATED, wednesday)))
    result = plan_task(task, make_group(), make_dana(), RULES, now=NOW, horizon_days=7)
    assert {w.session_date for w in result.windows} == {TUESDAY}
    refused = [s for s in result.skipped if s.reason is SkipReason.PARTICIPANT_NOT_ACTIVE]
    assert [s.session_date for s in refused] == [THURSDAY]


def test_no_group_time_before_he_enrolled() -> None:
    enrolled = ny(date(2026, 3, 4), 12)
    task = make_task(timeline=timeline((EventType.ENROLLED, enrolled)))
    assert {w.session_date for w in windows_for(task)} == {THURSDAY}


def test_no_group_time_while_on_leave_and_again_once_he_returned() -> None:
    leave = ny(TUESDAY, 8)
    back = ny(date(2026, 3, 4), 12)
    task = make_task(
        timeline=timeline(
            (EventType.LEAVE_OF_ABSENCE, leave), (EventType.RETURNED_FROM_LEAVE, back)
        )
    )
    assert {w.session_date for w in windows_for(task)} == {THURSDAY}


def test_a_session_he_left_in_the_middle_of_is_not_group_time() -> None:
    during = ny(TUESDAY, 19, 45)
    task = make_task(timeline=timeline((EventType.COMPLETED, during)))
    assert windows_for(task) == []


@pytest.mark.parametrize(
    "reason",
    [TaskReason.TERMINATED, TaskReason.COMPLETED, TaskReason.LEAVE_OF_ABSENCE],
)
def test_a_task_his_exit_opened_uses_only_the_times_she_named(reason: TaskReason) -> None:
    # Even a session before the exit's date: he may already be out (issue 19).
    evenings = SafeTime(frozenset({0, 2}), time(10), time(12))
    dana = make_dana(safe_times=(evenings,))
    result = plan_task(make_task(reason=reason), make_group(), dana, RULES, now=NOW, horizon_days=7)
    assert {w.kind for w in result.windows} == {WindowKind.PREFERRED}
    assert SkipReason.GROUP_TIME_AFTER_EXIT in {s.reason for s in result.skipped}


def test_a_task_his_exit_opened_has_no_window_when_she_named_no_time() -> None:
    result = plan_task(
        make_task(reason=TaskReason.TERMINATED), make_group(), make_dana(), RULES,
        now=NOW, horizon_days=7,
    )  # fmt: skip
    assert result.windows == ()
    assert [s.reason for s in result.skipped] == [SkipReason.GROUP_TIME_AFTER_EXIT]


# --- immediate safety concerns (S8 as amended, issue 19)

FRIDAY = date(2026, 3, 6)


def test_an_immediate_concern_at_night_waits_only_for_calling_hours_not_for_group() -> None:
    # Raised Friday 22:10 in New York: the next calling hours are Saturday 08:00, long
    # before the next group session (Tuesday).
    raised = ny(FRIDAY, 22, 10)
    task = make_task(reason=TaskReason.SAFETY_CONCERN, immediate=True, opens_at=raised)
    first = windows_for(task, now=raised)[0]
    assert first.kind is WindowKind.IMMEDIATE
    assert first.start == ny(date(2026, 3, 7), 8)


def test_an_immediate_concern_is_callable_at_once_where_she_is_still_in_calling_hours() -> None:
    raised = ny(FRIDAY, 22, 10)  # 19:10 in Los Angeles
    task = make_task(reason=TaskReason.SAFETY_CONCERN, immediate=True, opens_at=raised)
    first = windows_for(task, contact=make_dana(timezones=("America/Los_Angeles",)), now=raised)[0]
    assert first.start == raised
    assert first.kind is WindowKind.IMMEDIATE


def test_an_immediate_concern_honours_the_times_she_named() -> None:
    raised = ny(FRIDAY, 12)
    mornings = SafeTime(frozenset({0}), time(10), time(12))  # Mondays 10-12
    task = make_task(reason=TaskReason.SAFETY_CONCERN, immediate=True, opens_at=raised)
    first = windows_for(task, contact=make_dana(safe_times=(mornings,)), now=raised)[0]
    assert first.start == ny(date(2026, 3, 9), 10)


def test_an_immediate_concern_ranks_after_duty_to_warn_and_before_routine() -> None:
    warn = make_task(task_id="warn", duty_to_warn=True, due_by=NOW + timedelta(days=9))
    concern = make_task(task_id="concern", immediate=True, due_by=NOW + timedelta(days=8))
    routine = make_task(task_id="routine", due_by=NOW + timedelta(days=1))
    result = plan(
        [PlanItem(t, make_dana(), make_group()) for t in (routine, concern, warn)],
        now=NOW,
        horizon_days=7,
    )
    order = list(dict.fromkeys(w.task_id for w in result.windows))
    assert order == ["warn", "concern", "routine"]


# --- ranking and shape


def test_plan_ranks_duty_to_warn_then_deadline_then_present_group_time_then_start() -> None:
    group = make_group()
    dana = make_dana()
    late_due = make_task(
        task_id="late", due_by=NOW + timedelta(days=6), attendance={THURSDAY: True}
    )
    early_due = make_task(task_id="early", due_by=NOW + timedelta(days=3))
    warn = make_task(task_id="warn", due_by=NOW + timedelta(days=9), duty_to_warn=True)
    result = plan(
        [PlanItem(t, dana, group) for t in (late_due, early_due, warn)], now=NOW, horizon_days=7
    )
    order = [(w.task_id, w.session_date) for w in result.windows]
    assert order == [
        ("warn", None),
        ("early", TUESDAY),
        ("early", THURSDAY),
        ("late", THURSDAY),  # participant confirmed present
        ("late", TUESDAY),
    ]


def test_a_window_serialises_to_the_interfaces_shape_in_utc() -> None:
    window = windows_for(make_task(attendance={TUESDAY: True}))[0]
    assert json.loads(json.dumps(window.to_json())) == {
        "task_id": "intake-1",
        "contact_id": "dana",
        "start": "2026-03-04T00:15:00+00:00",
        "end": "2026-03-04T01:15:00+00:00",
        "kind": "group",
        "group_id": "tue-thu-evening",
        "session_date": "2026-03-03",
        "participant_present": True,
    }


def test_a_preferred_window_leaves_out_group_keys_but_keeps_participant_present() -> None:
    dana = make_dana(safe_times=(SafeTime.parse("MO", "10:00", "11:00"),))
    result = plan_task(make_task(), None, dana, RULES, now=NOW, horizon_days=1)
    assert set(result.windows[0].to_json()) == {
        "task_id",
        "contact_id",
        "start",
        "end",
        "kind",
        "participant_present",
    }


# --- inputs


def test_it_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        windows_for(now=datetime(2026, 3, 2, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        make_task(due_by=datetime(2026, 3, 2, 9))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rrule": "FREQ=HOURLY"}, "FREQ"),
        ({"rrule": "FREQ=WEEKLY;BYHOUR=3"}, "BYHOUR"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "invalid rrule"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"duration_minutes": 0}, "duration"),
        ({"ends_on": date(2025, 1, 1)}, "end before"),
    ],
)
def test_it_refuses_a_bad_group_schedule(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_group(**changes)


def test_safe_times_parse_the_api_shape() -> None:
    assert SafeTime.parse("MO, fr", "09:00", "11:30") == SafeTime(
        frozenset({0, 4}), time(9), time(11, 30)
    )
    with pytest.raises(ValueError, match="days"):
        SafeTime.parse("MON", "09:00", "10:00")


def test_group_sessions_lists_cancelled_sessions_flagged() -> None:
    group = make_group(cancelled=frozenset({THURSDAY}))
    sessions = group_sessions(group, start=NOW, end=NOW + timedelta(days=7))
    assert [(s.session_date, s.cancelled) for s in sessions] == [(TUESDAY, False), (THURSDAY, True)]


# --- candidate time zones


def test_the_zone_the_contact_gave_wins() -> None:
    assert candidate_zones("America/Chicago", "+12125550123", "America/Denver") == (
        "America/Chicago",
    )


def test_a_number_in_one_zone_gives_that_zone() -> None:
    assert candidate_zones(None, "+13105550123", "America/New_York") == ("America/Los_Angeles",)


def test_a_number_that_may_be_in_several_zones_gives_them_all() -> None:
    zones = candidate_zones(None, "+61412345678", "America/New_York")
    assert {"Australia/Perth", "Australia/Sydney"} <= set(zones)


def test_without_a_usable_number_the_program_zone_is_used() -> None:
    assert candidate_zones(None, None, "America/Denver") == ("America/Denver",)
    assert candidate_zones(None, "+5215512345678", "America/Denver") == ("America/Denver",)
    assert candidate_zones(None, "not a number", "America/Denver") == ("America/Denver",)


def test_a_bad_zone_error_never_repeats_the_phone_number() -> None:
    with pytest.raises(ValueError, match="unknown time zone") as caught:
        candidate_zones(None, "+5215512345678", "Nowhere/Land")
    assert "5512345678" not in str(caught.value)
