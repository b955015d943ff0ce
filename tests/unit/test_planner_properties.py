"""Planner invariants over random schedules, zones, DST dates, cancellations and attendance.

Each window is checked against an oracle written apart from the planner: local clock
readings of sampled instants, and sessions re-expanded here with dateutil.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from outreach.domain.planning.group_sessions import GroupSchedule
from outreach.domain.planning.inputs import ContactSchedule, PlanItem, PlanningRules, TaskToPlan
from outreach.domain.planning.planner import plan
from outreach.domain.planning.safe_times import SafeTime
from outreach.domain.planning.windows import CallWindow
from outreach.domain.vocabulary import Consent, TaskReason, WindowKind

ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Phoenix",
    "Europe/London",
    "Australia/Lord_Howe",  # a half-hour DST shift
]
# Around both 2026 US DST changes, and an ordinary week.
DAYS_NEAR_DST = [
    date(2026, 3, 6),
    date(2026, 3, 8),
    date(2026, 10, 30),
    date(2026, 11, 1),
    date(2026, 5, 4),
]
RRULES = [
    "FREQ=WEEKLY;BYDAY=TU,TH",
    "FREQ=WEEKLY;BYDAY=SU",
    "FREQ=DAILY",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU",
]
SAMPLE_STEP = timedelta(minutes=15)

times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
evening = st.builds(time, st.integers(9, 20), st.sampled_from([0, 30]))
# Mostly neighbouring US zones (which share calling hours); sometimes anything.
contact_zones = st.lists(
    st.sampled_from(ZONES[:4]), min_size=1, max_size=2, unique=True
) | st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True)
safe_times = (
    st.tuples(st.frozensets(st.integers(0, 6), min_size=1), times, times)
    .filter(lambda t: t[1] != t[2])
    .map(lambda t: SafeTime(*t))
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[PlanItem, datetime, int]:
    day = draw(st.sampled_from(DAYS_NEAR_DST))
    # Cancellations, attendance and attempts fall on the days the horizon covers.
    dates = st.integers(-2, 9).map(lambda n: day + timedelta(days=n))
    now = datetime.combine(day, draw(times), tzinfo=ZoneInfo(draw(st.sampled_from(ZONES))))
    group = GroupSchedule(
        group_id="g",
        timezone=draw(st.sampled_from(ZONES)),
        rrule=draw(st.sampled_from(RRULES)),
        start_time=draw(evening | times),
        duration_minutes=draw(st.integers(30, 240)),
        starts_on=day - timedelta(days=draw(st.integers(0, 30))),
        ends_on=draw(st.none() | st.just(day + timedelta(days=5))),
        cancelled=draw(st.frozensets(dates, max_size=4)),
    )
    contact = ContactSchedule(
        contact_id="c",
        consent=draw(st.sampled_from([Consent.CONSENTED] * 3 + list(Consent))),
        voice=draw(st.sampled_from([True] * 5 + [False])),
        sms=False,
        voicemail=False,
        timezones=tuple(draw(contact_zones)),
        safe_times=tuple(draw(st.lists(safe_times, max_size=2))),
        only_during_group=draw(st.booleans()),
    )
    duty = draw(st.integers(0, 4)) == 0  # one scenario in five is a duty to warn
    task = TaskToPlan(
        task_id="t",
        contact_id="c",
        reason=TaskReason.DUTY_TO_WARN if duty else TaskReason.INTAKE,
        due_by=now + timedelta(days=3),
        duty_to_warn=duty,
        duty_to_warn_confirmed=draw(st.booleans()),
        attempted_sessions=frozenset(("g", d) for d in draw(st.frozensets(dates, max_size=3))),
        attendance=draw(st.dictionaries(dates, st.booleans(), max_size=8)),
        callback_at=draw(st.none() | _callbacks(now, group, dates)),
        immediate=not duty and draw(st.integers(0, 4)) == 0,  # S8: an immediate concern
    )
    rules = PlanningRules(
        settle_in_minutes=draw(st.integers(0, 30)),
        leave_early_minutes=draw(st.integers(0, 30)),
        callback_minutes=draw(st.integers(1, 90)),
    )
    return PlanItem(task, contact, group, rules), now, draw(st.integers(1, 8))


def _callbacks(now: datetime, group: GroupSchedule, dates: SearchStrategy[date]) -> Any:
    """S6: a time she asked to be called back at, from just past to beyond the horizon, and
    often about the time of one of his sessions, cancelled, missed or attended."""
    anytime = st.integers(-120, 9 * 24 * 60).map(lambda m: now + timedelta(minutes=m))
    zone = ZoneInfo(group.timezone)
    near_a_session = st.builds(
        lambda day, minutes: (
            datetime.combine(day, group.start_time, tzinfo=zone) + timedelta(minutes=minutes)
        ),
        dates,
        st.integers(-45, 120),
    )
    return anytime | near_a_session


# --- the oracle


def samples(window: CallWindow) -> list[datetime]:
    points, at = [], window.start
    while at < window.end:
        points.append(at)
        at += SAMPLE_STEP
    return [*points, window.end - timedelta(microseconds=1)]


def in_calling_hours(at: datetime, zones: tuple[str, ...], rules: PlanningRules) -> bool:
    local = [at.astimezone(ZoneInfo(z)).time() for z in zones]
    return all(rules.calling_start <= t < rules.calling_end for t in local)


def in_safe_time(at: datetime, zones: tuple[str, ...], safe: tuple[SafeTime, ...]) -> bool:
    return all(any(_inside(at.astimezone(ZoneInfo(z)), s) for s in safe) for z in zones)


def _inside(local: datetime, safe: SafeTime) -> bool:
    t, weekday = local.time(), local.weekday()
    if safe.start < safe.end:
        return weekday in safe.days and safe.start <= t < safe.end
    yesterday = (weekday - 1) % 7
    return (weekday in safe.days and t >= safe.start) or (yesterday in safe.days and t < safe.end)


def sessions(group: GroupSchedule, around: datetime) -> list[tuple[date, datetime, datetime]]:
    """Re-expand the group's sessions: (local date, start, end), both DST readings."""
    zone = ZoneInfo(group.timezone)
    rule = rrulestr(group.rrule, dtstart=datetime.combine(group.starts_on, group.start_time))
    lo = around.astimezone(zone).replace(tzinfo=None) - timedelta(days=3)
    out = []
    for local in rule.between(lo, lo + timedelta(days=16), inc=True):
        if group.ends_on is not None and local.date() > group.ends_on:
            continue
        for fold in (0, 1):
            start = local.replace(tzinfo=zone, fold=fold).astimezone(UTC)
            out.append((local.date(), start, start + timedelta(minutes=group.duration_minutes)))
    return out


def inside_a_proposable_session(window: CallWindow, item: PlanItem, now: datetime) -> bool:
    assert item.group is not None
    rules, task = item.rules, item.task
    settle, leave = (
        timedelta(minutes=rules.settle_in_minutes),
        timedelta(minutes=rules.leave_early_minutes),
    )
    for day, start, end in sessions(item.group, now):
        if day != window.session_date or day in item.group.cancelled:
            continue
        if task.attendance.get(day) is False or ("g", day) in task.attempted_sessions:
            continue
        if start + settle <= window.start and window.end <= end - leave:
            return True
    return False


def within_the_callback(window: CallWindow, item: PlanItem) -> bool:
    asked = item.task.callback_at
    length = timedelta(minutes=item.rules.callback_minutes)
    return asked is not None and asked <= window.start and window.end <= asked + length


def overlaps_a_cancelled_session(window: CallWindow, item: PlanItem, now: datetime) -> bool:
    assert item.group is not None
    return any(
        start < window.end and window.start < end and day in item.group.cancelled
        for day, start, end in sessions(item.group, now)
    )


def overlaps_a_session(window: CallWindow, item: PlanItem, now: datetime, *, missed: bool) -> bool:
    assert item.group is not None
    for day, start, end in sessions(item.group, now):
        if missed and item.task.attendance.get(day) is not False:
            continue
        if start < window.end and window.start < end:
            return True
    return False


# --- the properties


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_every_window_is_safe_by_every_rule(scenario: tuple[PlanItem, datetime, int]) -> None:
    item, now, days = scenario
    task, contact = item.task, item.contact
    windows = plan([item], now=now, horizon_days=days).windows

    confirmed = task.duty_to_warn and task.duty_to_warn_confirmed
    if not contact.voice and not confirmed:  # S1 (a confirmed warning overrides her refusal)
        assert windows == ()
    if contact.consent is Consent.DECLINED and not (
        task.duty_to_warn and task.duty_to_warn_confirmed
    ):
        assert windows == ()  # S1
    for window in windows:
        horizon = timedelta(days=days)
        assert now <= window.start < window.end <= now.astimezone(UTC) + horizon  # elapsed time
        if window.kind is WindowKind.DUTY_TO_WARN:
            # S8 (amended): callable at once at any hour; calling hours govern routine work.
            assert task.duty_to_warn
            assert window.start - now <= timedelta(minutes=1)
            continue
        # S4: calling hours in every candidate zone, whatever the other kind.
        assert all(in_calling_hours(at, contact.timezones, item.rules) for at in samples(window))
        if window.kind is WindowKind.IMMEDIATE:
            # S8: at once, not at the next session; only where she named a time, if she did.
            assert task.immediate
            assert not contact.only_during_group
            if contact.safe_times:
                assert all(
                    in_safe_time(at, contact.timezones, contact.safe_times)
                    for at in samples(window)
                )
            continue
        assert not task.duty_to_warn
        assert not overlaps_a_session(window, item, now, missed=True)  # S4
        if window.kind is WindowKind.GROUP:
            assert inside_a_proposable_session(window, item, now)  # S4, S5
            assert window.participant_present == task.attendance.get(window.session_date)  # type: ignore[arg-type]
        elif within_the_callback(window, item):
            # S6: the time she asked for, whatever her standing safe times say, yet never
            # over a session that was cancelled (or one he missed, checked above).
            assert not overlaps_a_cancelled_session(window, item, now)
            continue
        else:
            assert not contact.only_during_group
            assert not overlaps_a_session(window, item, now, missed=False)
        if contact.safe_times:
            assert all(
                in_safe_time(at, contact.timezones, contact.safe_times) for at in samples(window)
            )


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_planning_many_tasks_at_once_proposes_what_planning_each_alone_does(
    scenario: tuple[PlanItem, datetime, int],
) -> None:
    item, now, days = scenario
    alone = set(plan([item], now=now, horizon_days=days).windows)
    twin = PlanItem(
        TaskToPlan(**{**_fields(item.task), "task_id": "t2"}), item.contact, item.group, item.rules
    )
    together = plan([item, twin], now=now, horizon_days=days).windows
    assert {w for w in together if w.task_id == "t"} == alone


def _fields(task: TaskToPlan) -> dict[str, object]:
    return {name: getattr(task, name) for name in TaskToPlan.__dataclass_fields__}


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.integers(0, 59), st.integers(0, 23))
def test_a_duty_to_warn_window_always_starts_within_a_minute_of_the_event(
    scenario: tuple[PlanItem, datetime, int], seconds: int, hour: int
) -> None:
    # S8 (amended, issue 19): raised at any hour, in any zones, whatever her safe times,
    # group or calling hours; planned within the minute it was raised.
    item, now, days = scenario
    raised = now.replace(hour=hour)
    task = replace(
        item.task,
        reason=TaskReason.DUTY_TO_WARN,
        duty_to_warn=True,
        duty_to_warn_confirmed=True,
        opens_at=raised,
    )
    contact = replace(item.contact, voice=True)  # a declined contact: confirmed above
    planned_at = raised + timedelta(seconds=seconds)
    windows = plan([replace(item, task=task, contact=contact)], now=planned_at, horizon_days=days)
    [window] = [w for w in windows.windows if w.kind is WindowKind.DUTY_TO_WARN]
    assert timedelta(0) <= window.start - raised <= timedelta(minutes=1)
