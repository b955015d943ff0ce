"""A three-month case, lived through the public services the way program staff live it.

Each scenario file tells one seed program's story with a `Story`: the facilitator reports his
events, attendance and cancelled classes; the liaison records her word and each attempt; the
scheduler ticks at the hours it would run; and the story keeps what reached her (the texts
the scheduler sent, by tick) so each file can assert every required contact happened, on time,
on her channels, and nothing else (issue 20, "Proof").

The group meets on Tuesdays, 18:30-20:30 in New York; his call window is 18:45-20:15 (S4,
settle-in and leave-early buffers): 23:45-01:15 UTC while New York keeps standard time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import BridgedCall, SafeCheckCall, Sms
from outreach.domain.planning.windows import CallWindow
from outreach.domain.vocabulary import DATED_EVENTS, EventType, Role
from outreach.models import (
    Attempt,
    ContactPerson,
    Group,
    OptBackIn,
    OutreachTask,
    Participant,
    Program,
)
from outreach.runtime import Runtime
from outreach.scheduler import jobs
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing, task_page
from outreach.services.contact_persons import opt_back_in, preference_changes, preferences
from outreach.services.delivery import inbound
from outreach.services.intake import events, programs
from outreach.services.records.audit import Actor
from outreach.services.scheduling import claims, planning
from outreach.services.supervision import duty_to_warn
from tests.factories import make_contact, make_group, make_participant, make_program, make_user
from tests.fakes import RecordingChannel

NEW_YORK = ZoneInfo("America/New_York")
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
# The first Tuesday of the story: he is enrolled that morning (tests/conftest.NOW's day).
WEEK_0 = date(2026, 11, 17)
PHONE = "+1 404-555-0188"
# A few scheduler runs a day stand for its every-30-seconds ticks: the morning run (9:00) and
# the evening run (18:50, just after his call window opens on group nights); on group nights
# (Tuesdays) three more inside the window, so work that opens during it is seen in it.
TICK_HOURS = ("09:00", "18:50")
GROUP_NIGHT_TICK_HOURS = ("09:00", "18:50", "19:10", "19:30", "19:50")
TUESDAY = 1


def ny(day: date, hhmm: str) -> datetime:
    """A wall-clock time in New York (her zone and the group's), as UTC."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def week(n: int, weekday: int = 1) -> date:
    """The day of week `n` of the story (0 = Monday ... 6 = Sunday; Tuesday by default)."""
    return WEEK_0 + timedelta(weeks=n, days=weekday - 1)


@dataclass(frozen=True)
class Seen:
    """One task as the liaison's record shows it, in the words a scenario asserts on."""

    reason: str
    status: str
    opens_at: datetime
    due_by: datetime
    channels: tuple[str, ...] = ("voice",)


@dataclass
class Story:
    db: Session
    vault: Vault
    rt: Runtime
    channel: RecordingChannel
    program: Program
    group: Group
    participant: Participant
    contact: ContactPerson
    facilitator: Actor
    liaison: Actor
    supervisor: Actor
    # The story's clock: what happens next happens at or after it (nothing is back-dated).
    now: datetime
    # What the scheduler sent her, with the time of the tick that sent it.
    sent: list[tuple[datetime, Any]] = field(default_factory=list)

    def _at(self, at: datetime) -> datetime:
        assert at >= self.now, f"the story goes forward: {at} is before {self.now}"
        self.now = at
        return at

    # --- the facilitator -------------------------------------------------------------

    def event(
        self, kind: str, at: datetime, *, severity: str = "routine", about: date | None = None
    ) -> list[OutreachTask]:
        """He reports an event of the participant's, at the time it happened; `about` is the
        day a dated event concerns (a court report, a planned discharge)."""
        dated = DATED_EVENTS.get(EventType(kind))
        self._at(at)
        _, opened = events.report_event(
            self.db, self.rt.profiles, actor=self.facilitator,
            participant_id=self.participant.id, event_type=kind, at=at, severity=severity,
            now=at, days={} if dated is None else {dated: about},
        )  # fmt: skip
        return opened

    def attendance(self, session_date: date, status: str) -> None:
        """He marks the participant present or absent at that night's session."""
        at = self._at(ny(session_date, "18:40"))
        programs.record_attendance(
            self.db, self.rt.profiles, participant_id=self.participant.id,
            session_date=session_date,
            status=status, checked_in_at=at if status == "present" else None, now=at,
            actor=self.facilitator,
        )  # fmt: skip

    def cancel_class(self, session_date: date, at: datetime) -> None:
        self._at(at)
        programs.cancel_session(
            self.db, self.rt.profiles, group_id=self.group.id, session_date=session_date,
            reason="facilitator ill", now=at, actor=self.facilitator,
        )  # fmt: skip

    # --- the liaison and the supervisor -----------------------------------------------

    def her_word(self, at: datetime, **changes: Any) -> Any:
        """The liaison records what she said about how she is contacted."""
        self._at(at)
        return preference_changes.change_preferences(
            self.db, self.vault, self.rt.profiles, actor=self.liaison,
            contact_id=self.contact.id, changes=changes, now=at, source="liaison",
        )  # fmt: skip

    def attempt(
        self, task: OutreachTask, at: datetime, outcome: str, channel: str = "voice"
    ) -> Attempt:
        self._at(at)
        return attempt_log.record_attempt(
            self.db, self.vault, actor=self.liaison, task_id=task.id, channel=channel, at=at,
            outcome=outcome, now=at,
        )  # fmt: skip

    def reach(self, task: OutreachTask, at: datetime) -> None:
        """A safe conversation (S6: safe to talk first), and the task is done."""
        self.attempt(task, at, "reached_safe")
        closing.close_task(
            self.db, actor=self.liaison, task_id=task.id, resolution="completed", now=at
        )

    def script(self, task: OutreachTask, at: datetime) -> dict[str, str]:
        """What the liaison reads on the call, section by section, once she claimed the task
        (the script's sections the program's profile shows, in her language)."""
        self._at(at)
        claims.claim_task(self.db, actor=self.liaison, task_id=task.id, now=at)
        page = task_page.task_page(
            self.db, self.vault, self.rt.profiles, actor=self.liaison, task_id=task.id, now=at,
            calling_hours=(time(8), time(21)),
        )  # fmt: skip
        assert page.script_problem is None, page.script_problem
        return dict(page.script)

    def close_completed(self, task: OutreachTask, at: datetime) -> None:
        self._at(at)
        closing.close_task(
            self.db, actor=self.liaison, task_id=task.id, resolution="completed", now=at
        )

    def close_unreachable(self, task: OutreachTask, at: datetime) -> None:
        self._at(at)
        closing.close_task(
            self.db, actor=self.liaison, task_id=task.id, resolution="unreachable", now=at
        )

    def confirm_warning(self, task: OutreachTask, at: datetime) -> None:
        self._at(at)
        duty_to_warn.confirm(self.db, actor=self.supervisor, task_id=task.id, now=at)

    def asks_to_opt_back_in(self, at: datetime, words: str, **channels: bool) -> OptBackIn:
        """She asks to be contacted again; the liaison records it in her words (S1)."""
        held = self.her_word(at, consent="consented", her_words=words, **channels)
        assert isinstance(held, OptBackIn)  # held, not a change of her preferences
        return held

    def confirm_opt_back_in(self, held: OptBackIn, at: datetime) -> None:
        """A supervisor other than the one who recorded it confirms her request (S1)."""
        self._at(at)
        opt_back_in.confirm(self.db, actor=self.supervisor, request_id=held.id, now=at)

    # --- her phone --------------------------------------------------------------------

    def she_texts(self, body: str, at: datetime) -> None:
        self._at(at)
        inbound.handle(
            self.db, self.vault, sender=PHONE, body=body, sid=f"SM{at.timestamp():.0f}", now=at
        )
        self.db.commit()

    # --- the scheduler ----------------------------------------------------------------

    def tick(self, at: datetime) -> None:
        """One run of the scheduler at `at` (scheduler/jobs.tick), on the runtime's clock."""
        self.rt.clock.at = self._at(at)  # type: ignore[attr-defined]  # the tests' FixedClock
        before = len(self.channel.sent)
        jobs.tick(self.rt, at)
        self.sent.extend((at, item) for item in self.channel.sent[before:])
        self.db.expire_all()  # the tick wrote through its own session

    def live_until(self, until: datetime) -> None:
        """Time passes: the scheduler runs at each of its hours after the story's clock, up to
        and including `until`, which becomes the story's clock."""
        day = self.now.astimezone(NEW_YORK).date()
        while day <= until.astimezone(NEW_YORK).date():
            hours = GROUP_NIGHT_TICK_HOURS if day.weekday() == TUESDAY else TICK_HOURS
            for hhmm in hours:
                if self.now < ny(day, hhmm) <= until:
                    self.tick(ny(day, hhmm))
            day += DAY
        self._at(until)

    # --- what the record shows --------------------------------------------------------

    def tasks(self, reason: str | None = None) -> list[OutreachTask]:
        """Her tasks, oldest first (optionally of one reason)."""
        query = select(OutreachTask).where(OutreachTask.contact_id == self.contact.id)
        if reason is not None:
            query = query.where(OutreachTask.reason == reason)
        found = self.db.scalars(query.execution_options(populate_existing=True))
        return sorted(found, key=lambda t: (t.opens_at, t.reason))

    def open_task(self, reason: str) -> OutreachTask:
        [task] = [t for t in self.tasks(reason) if t.status == "open"]
        return task

    def record(self) -> list[Seen]:
        return [
            Seen(t.reason, t.status, t.opens_at, t.due_by, tuple(t.channels)) for t in self.tasks()
        ]

    def windows(self, task: OutreachTask) -> list[CallWindow]:
        """The windows in which the liaison may call about the task from the story's clock,
        as her queue and the task page plan them (S4, S8)."""
        settings = self.rt.settings
        plan = planning.plan_open_tasks(
            self.db, self.rt.profiles, now=self.now, days=2,
            calling_hours=(settings.calling_start, settings.calling_end), task_ids=[task.id],
        )  # fmt: skip
        return sorted(plan.windows, key=lambda window: window.start)

    def texts(self) -> list[tuple[datetime, Sms]]:
        return [(at, item) for at, item in self.sent if isinstance(item, Sms)]

    def calls(self) -> list[tuple[datetime, Any]]:
        return [
            (at, item) for at, item in self.sent if isinstance(item, (BridgedCall, SafeCheckCall))
        ]

    def preferences(self) -> Any:
        return preferences.current_preferences(self.db, self.contact.id)


def begin(
    db: Session,
    vault: Vault,
    rt: Runtime,
    channel: RecordingChannel,
    *,
    protocol: str,
    **preferences: Any,
) -> Story:
    """A program on `protocol` with its Tuesday group, a participant who has been on its
    books for a month, and his partner's contact record as the referral gave it."""
    month_ago = ny(WEEK_0, "09:00") - timedelta(days=30)
    program = make_program(db, now=month_ago, protocol=protocol)
    group = make_group(db, program, now=month_ago)
    participant = make_participant(db, group, now=month_ago)
    contact = make_contact(
        db, vault, participant, now=month_ago, name="Dana Example", phone=PHONE, **preferences
    )
    # The liaison's first name is said on the call ("Sam", from "sam.rivera"): a role word
    # such as "liaison" would fail the script lint.
    names = {Role.LIAISON: "sam.rivera"}
    staff = {
        role: Actor.of(make_user(db, role, [program], now=month_ago, username=names.get(role)))
        for role in (Role.FACILITATOR, Role.LIAISON, Role.SUPERVISOR)
    }
    return Story(
        db, vault, rt, channel, program, group, participant, contact,
        staff[Role.FACILITATOR], staff[Role.LIAISON], staff[Role.SUPERVISOR], month_ago,
    )  # fmt: skip
