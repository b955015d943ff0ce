"""The queue's database count of attempt windows agrees with the rule the services close by."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from outreach.domain import attempt_rules
from outreach.domain.protocols.loading import load_profiles
from outreach.models import Attempt
from outreach.services.attempts import attempt_log, tasks
from outreach.services.intake.programs import PROTOCOLS_DIR
from tests.conftest import NOW
from tests.factories import World, report_event

PROFILES = load_profiles(PROTOCOLS_DIR)
# None: a row without its local day, counted by its UTC day.
ZONES = (None, "America/New_York", "America/Los_Angeles", "Pacific/Kiritimati")

attempts = st.lists(
    st.tuples(
        st.integers(0, 2),  # which task
        st.integers(-20 * 24 * 60, 0),  # minutes before now, crossing UTC and local midnights
        st.one_of(st.none(), st.integers(0, 3)),  # which group session, if any
        st.sampled_from(ZONES),  # outside a session, the zone of its local day, if it has one
        st.booleans(),  # a group session without a group recorded
        st.one_of(st.none(), st.integers(0, 30)),  # corrects an earlier attempt
    ),
    max_size=25,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(made=attempts)
def test_the_database_count_equals_distinct_windows_of_standing_attempts(
    db: Session,
    world: World,
    made: list[tuple[int, int, int | None, str | None, bool, int | None]],
) -> None:
    opened = report_event(db, PROFILES, world, "terminated", now=NOW)
    opened += report_event(db, PROFILES, world, "enrolled", now=NOW)
    task_ids = [t.id for t in opened][:3]
    written: list[Attempt] = []
    for which, minutes, session, zone, groupless, corrects in made:
        task_id = task_ids[which % len(task_ids)]
        earlier = [a for a in written if a.task_id == task_id]
        at = NOW + timedelta(minutes=minutes)
        attempt = Attempt(
            id=uuid.uuid4(),
            task_id=task_id,
            channel="voice",
            at=at,
            outcome="no_answer",
            group_id=None if session is None or groupless else world.group.id,
            session_date=None if session is None else date(2026, 11, 3) + timedelta(weeks=session),
            window_day=_local_day(at, zone) if session is None else None,
            corrects_id=earlier[corrects % len(earlier)].id if earlier and corrects else None,
            recorded_at=NOW,
        )
        db.add(attempt)
        db.flush()
        written.append(attempt)
    counted = tasks.windows_counted(db, task_ids)
    for task_id in task_ids:
        expected = attempt_rules.distinct_windows(attempt_log.standing_attempts(db, task_id))
        assert counted.get(task_id, 0) == expected


def _local_day(at: datetime, zone: str | None) -> date | None:
    return at.astimezone(ZoneInfo(zone)).date() if zone else None


def test_a_day_is_the_contacts_own_day_not_the_utc_day(db: Session, world: World) -> None:
    (task, *_) = report_event(db, PROFILES, world, "terminated", now=NOW)
    for at in (  # 18:55 and 19:05 on one New York evening
        datetime(2026, 11, 18, 23, 55, tzinfo=UTC),
        datetime(2026, 11, 19, 0, 5, tzinfo=UTC),
    ):
        db.add(
            Attempt(
                task_id=task.id,
                channel="voice",
                at=at,
                outcome="busy",
                window_day=_local_day(at, "America/New_York"),
                recorded_at=NOW,
            )
        )
    db.flush()
    assert tasks.windows_counted(db, [task.id]) == {task.id: 1}
    assert attempt_rules.distinct_windows(attempt_log.standing_attempts(db, task.id)) == 1


def test_a_row_without_its_local_day_falls_back_to_the_utc_day(db: Session, world: World) -> None:
    if db.get_bind().dialect.name == "postgresql":  # a server set to another zone
        db.execute(text("SET LOCAL TIME ZONE 'America/Los_Angeles'"))
    (task, *_) = report_event(db, PROFILES, world, "terminated", now=NOW)
    for at in (
        datetime(2026, 11, 17, 23, 59, tzinfo=UTC),
        datetime(2026, 11, 18, 0, 1, tzinfo=UTC),
    ):
        db.add(Attempt(task_id=task.id, channel="voice", at=at, outcome="busy", recorded_at=NOW))
    db.flush()
    assert tasks.windows_counted(db, [task.id]) == {task.id: 2}
    assert attempt_rules.distinct_windows(attempt_log.standing_attempts(db, task.id)) == 2
