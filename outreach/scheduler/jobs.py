"""Due work, run once per tick. Each step may run twice, or in two processes, and do no harm:
work is claimed with a conditional UPDATE (and SKIP LOCKED on PostgreSQL) before it is done,
and a claimed-but-unsettled send is reconciled, never resent blindly.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from datetime import time as dt_time

from sqlalchemy import ColumnElement, String, cast, select, update
from sqlalchemy.orm import Session

from outreach.domain.planning.windows import CallWindow
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import (
    DeliveryKind,
    DeliveryStatus,
    TaskReason,
    TaskStatus,
    WindowKind,
)
from outreach.models import AuditEvent, ContactPreferences, Delivery, OutreachTask, Program
from outreach.runtime import Runtime
from outreach.services.contact_persons import preferences
from outreach.services.delivery import inbox, reconcile, sending, texts
from outreach.services.delivery.outward import Outward
from outreach.services.intake import check_ins
from outreach.services.records.audit import SYSTEM, AuditAction, record
from outreach.services.scheduling import call_windows, planning
from outreach.services.supervision import on_call_notice

REMINDER_LOOKAHEAD = timedelta(hours=24)
# The texts the scheduler plans at the start of a window (a heads-up, a texted check-in).
PLANNED_IN_WINDOWS = frozenset({"reminder", check_ins.SCRIPT})
SEND_BATCH = 100
# A send claimed this long ago and never settled is left for a person: it may have gone out.
STUCK_AFTER = timedelta(minutes=10)


@dataclass
class TickReport:
    reminders_scheduled: int = 0
    sent: int = 0
    missed: int = 0
    refused: int = 0
    escalated: int = 0
    duty_to_warn_notified: int = 0
    on_call_notices_sent: int = 0
    reconciled: int = 0
    check_ins_opened: int = 0
    check_in_texts_planned: int = 0
    plans_refreshed: int = 0
    callbacks_applied: int = 0

    def lines(self) -> list[str]:
        return [f"{f.name.replace('_', ' ')}: {getattr(self, f.name)}" for f in fields(self)]


def tick(rt: Runtime, now: datetime, *, leading: Callable[[], bool] = lambda: True) -> TickReport:
    """Run every kind of due work once, at `now`; each send is judged on the runtime's clock
    as it is made. A process that no longer leads stops before its next step or send: a tick
    under load lasts seconds, and the new leader runs the rest (issue 21, one leader)."""
    report = TickReport()
    # First: deliveries settle from the provider's callbacks before anything reads them.
    report.callbacks_applied = apply_callbacks(rt, now, leading=leading)
    with rt.session() as session:
        if leading():
            report.duty_to_warn_notified = notify_duty_to_warn(session, now)
            report.on_call_notices_sent = on_call_notice.send_due(session, rt.outward(), now)
            report.escalated = escalate_overdue(session, now)
            report.reconciled = reconcile_stuck(session, now)
            report.reconciled += reconcile.reconcile_quiet(session, rt.outward().channel, now)
        if leading():
            report.check_ins_opened = check_ins.open_periodic_check_ins(
                session, rt.profiles, now=now
            )
            report.check_in_texts_planned = check_ins.schedule_texts(
                session, rt.profiles, (rt.settings.calling_start, rt.settings.calling_end), now
            )
            report.reminders_scheduled = schedule_reminders(session, rt, now)
            report.sent, report.missed, report.refused = send_due(
                session,
                rt.outward(),
                now,
                clock=rt.clock.now,
                leading=leading,
                windows=_WindowCheck(rt.profiles),
            )
        if leading():
            # Last: so the queue sorts by windows that already count this tick's changes.
            report.plans_refreshed = call_windows.refresh_all(
                session,
                rt.profiles,
                now=now,
                calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
            )
    return report


def apply_callbacks(
    rt: Runtime, now: datetime, *, leading: Callable[[], bool] = lambda: True
) -> int:
    """Apply every status callback the webhooks stored; answer how many (services/inbox).
    A scheduler that no longer leads stops before its next batch (`leading`)."""
    with rt.session() as session:
        if session.get_bind().dialect.name != "sqlite":
            # A batch holds its deliveries' and tasks' rows until it commits: it stops taking
            # rows after a short while, so a liaison's write never waits long behind it.
            return inbox.drain(
                session, now, hold=lambda: inbox.Hold(inbox.APPLY_SECONDS), leading=leading
            )
        return inbox.drain(
            session,
            now,
            hold=lambda: inbox.Hold(inbox.SQLITE_APPLY_SECONDS),
            pause=_share_the_lock(),
            leading=leading,
        )


def _share_the_lock() -> Callable[[], None]:
    """Between two batches, wait as long as the last one took. SQLite has one write lock:
    an applier that took it straight back would hold it for a whole drain, and the webhooks
    queued behind it would wait that long. A shorter pause was measured: the applier went
    faster, but took the webhooks' CPU and their p99 rose again (docs/benchmarks.md)."""
    since = [time.monotonic()]

    def pause() -> None:
        time.sleep(min(time.monotonic() - since[0], 1.0))
        since[0] = time.monotonic()

    return pause


# --- reminders (S1, S2, S4) ------------------------------------------------------------


def schedule_reminders(session: Session, rt: Runtime, now: datetime) -> int:
    """Plan one SMS reminder per task at the start of its next window in the coming day,
    only for contacts who allowed SMS; the window's end is the reminder's expiry."""
    # Planning is the dear part of a tick and most contacts never allow SMS: plan only the
    # tasks that could get a reminder at all, still live (S4).
    task_ids = reminder_candidates(session, rt.profiles)
    if not task_ids:
        session.commit()  # end the read, as every step of a tick does
        return 0
    plan = planning.plan_open_tasks(
        session,
        rt.profiles,
        now=now,
        days=2,
        calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
        task_ids=task_ids,
    )
    created = 0
    for window in _next_windows(plan.windows, now, now + REMINDER_LOOKAHEAD).values():
        created += _schedule_one(session, rt.profiles, window, now)
    session.commit()
    return created


def reminder_candidates(session: Session, profiles: Mapping[str, Profile]) -> list[uuid.UUID]:
    """The open tasks whose contact may get a heads-up text before a call (consented
    reminders, PRODUCT.md): a call among the task's channels, never a duty to warn, in a
    program whose profile keeps reminders on, and a contact whose newest preferences allow
    texts and calls (S1, S2: never not yet asked, never after STOP). One query, however many
    tasks."""
    reminding = [key for key, profile in profiles.items() if profile.reminders]
    if not reminding:
        return []
    rows = session.execute(
        select(OutreachTask.id, OutreachTask.channels, ContactPreferences)
        .join(Program, Program.id == OutreachTask.program_id)
        .join(ContactPreferences, ContactPreferences.contact_id == OutreachTask.contact_id)
        .where(
            OutreachTask.status == TaskStatus.OPEN.value,
            OutreachTask.reason != TaskReason.DUTY_TO_WARN.value,
            Program.protocol.in_(reminding),
            _may_list_voice(),
            preferences.newest_version(),
            # Only narrows what is read (most contacts never allow texts): _may_remind below
            # is the rule, on every row that remains.
            ContactPreferences.sms.is_(True),
            ContactPreferences.voice.is_(True),
        )
    )
    return [
        task_id
        for task_id, channels, prefs in rows
        if "voice" in channels and _may_remind(prefs)  # the rule, as _schedule_one has it
    ]


def _may_list_voice() -> ColumnElement[bool]:
    # Only spares decoding every text- or letter-only task's row: the stored JSON text of a
    # list holding "voice" always holds it quoted so, on SQLite and PostgreSQL alike.
    return cast(OutreachTask.channels, String).like('%"voice"%')


def _may_remind(prefs: ContactPreferences | None) -> bool:
    # The rule _schedule_one and every send apply, so only tasks they would refuse drop out:
    # she allows texts (consented, no STOP standing) and may still be called.
    if prefs is None or not prefs.voice:
        return False
    return preferences.permission_of(prefs).refusal(DeliveryKind.SMS) is None


def _next_windows(
    windows: tuple[CallWindow, ...], now: datetime, until: datetime
) -> dict[str, CallWindow]:
    first: dict[str, CallWindow] = {}
    for window in windows:
        if window.kind is WindowKind.DUTY_TO_WARN or not now < window.start < until:
            # A duty to warn is a person's call, never a text (S8); a window already open
            # is not announced halfway through.
            continue
        if window.task_id not in first or window.start < first[window.task_id].start:
            first[window.task_id] = window
    return first


def _schedule_one(
    session: Session, profiles: Mapping[str, Profile], window: CallWindow, now: datetime
) -> int:
    task = session.get(OutreachTask, uuid.UUID(window.task_id))
    if task is None or not _reminds(session, profiles, task):
        return 0
    prefs = preferences.current_preferences(session, task.contact_id)
    if not _may_remind(prefs) or _already_planned(session, task, window):
        return 0
    session.add(
        Delivery(
            task_id=task.id,
            contact_id=task.contact_id,
            kind=DeliveryKind.SMS,
            script="reminder",
            language=prefs.language,
            status=DeliveryStatus.PENDING,
            code=secrets.token_urlsafe(32),
            due_at=window.start,
            expires_at=window.end,
            created_at=now,
        )
    )
    return 1


def _reminds(session: Session, profiles: Mapping[str, Profile], task: OutreachTask) -> bool:
    """A heads-up goes before a call, never before a duty to warn (S8), where the program
    keeps reminders on."""
    program = session.get(Program, task.program_id)
    profile = None if program is None else profiles.get(program.protocol)
    return (
        profile is not None
        and profile.reminders
        and task.reason != TaskReason.DUTY_TO_WARN
        and "voice" in task.channels
    )


def _already_planned(session: Session, task: OutreachTask, window: CallWindow) -> bool:
    """One reminder per task per day, however often the plan is run."""
    day_start = window.start.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        session.scalar(
            select(Delivery.id)
            .where(
                Delivery.task_id == task.id,
                Delivery.kind == DeliveryKind.SMS,
                Delivery.script == "reminder",
                Delivery.due_at >= day_start,
                Delivery.due_at < day_start + timedelta(days=1),
            )
            .limit(1)
        )
        is not None
    )


# The window check at send time is about his group and her safe times (S4); the calling hours
# are judged by the send itself, which refuses a text after they end (targets.target_for).
_ANY_HOUR = (dt_time(0, 0), dt_time(23, 59, 59))


_PLANNED_BEFORE = timedelta(hours=12)


@dataclass(frozen=True)
class _WindowCheck:
    """What re-planning a task's window at send time needs (S4)."""

    profiles: Mapping[str, Profile]


def send_due(
    session: Session,
    out: Outward,
    now: datetime,
    *,
    clock: Callable[[], datetime] | None = None,
    leading: Callable[[], bool] = lambda: True,
    windows: _WindowCheck | None = None,
) -> tuple[int, int, int]:
    """Send each due reminder exactly once; one whose window has closed is missed, not late.

    `now` chooses what is due; each send is judged on `clock` read as it is made (S4, issue 21
    finding 18): sends lag the tick's start by the pacer and the provider, and a window or the
    calling hours may close meanwhile. With `windows` (the tick's), a text planned for a
    window that is gone since (he was marked absent, the class was cancelled, he went on
    leave or left the program: S4, "then he may be home") is missed too: "I'll call you
    today" must not reach her when no call can be made. A scheduler that is no longer the
    leader stops before its next send (`leading`)."""
    read = clock or (lambda: now)
    sent = missed = refused = 0
    for delivery_id in _all_due_ids(session, now):
        if not leading():
            break
        at = read()
        if not sending.claim(session, delivery_id, at):
            continue  # another process took it
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        expired = delivery.expires_at is not None and at >= delivery.expires_at
        if expired or (windows is not None and not _window_stands(session, windows, delivery, at)):
            # S4: its window closed, or is gone: the text is missed, never sent late or
            # into a window with no call in it.
            delivery.status, delivery.settled_at = DeliveryStatus.MISSED, at
            session.commit()
            missed += 1
            continue
        texts.send_scheduled_sms(session, out, delivery, at)
        check_ins.made(session, delivery, at)  # a check-in text she chose is the check-in
        status = session.get(Delivery, delivery_id).status  # type: ignore[union-attr]
        sent += status == DeliveryStatus.SENT
        refused += status == DeliveryStatus.REFUSED
    return sent, missed, refused


def _window_stands(
    session: Session, windows: _WindowCheck, delivery: Delivery, at: datetime
) -> bool:
    """Whether the task the text was planned for still has a window open at `at`, planned
    live (S4): the one it was planned in may be gone since. Only the texts the scheduler
    planned in a window (heads-ups, texted check-ins) are judged so."""
    if delivery.requested_by is not None or delivery.script not in PLANNED_IN_WINDOWS:
        return True
    # Planned from well before the text was due: planned from `at`, the rest of a window
    # shorter than the planner's shortest one would not be planned, and the text not sent.
    plan = planning.plan_open_tasks(
        session,
        windows.profiles,
        now=min(delivery.due_at, at) - _PLANNED_BEFORE,
        days=1,
        calling_hours=_ANY_HOUR,
        task_ids=[delivery.task_id],
        texting=delivery.script == check_ins.SCRIPT,
    )
    return any(
        window.kind is not WindowKind.DUTY_TO_WARN
        and window.participant_present is not False  # "participant not in group" (S4)
        and window.start <= at < window.end
        for window in plan.windows
    )


def _all_due_ids(session: Session, now: datetime) -> Iterator[uuid.UUID]:
    """Due ids batch by batch; a batch claimed elsewhere is simply not seen again."""
    seen: set[uuid.UUID] = set()
    while batch := [i for i in _due_ids(session, now) if i not in seen]:
        seen.update(batch)
        yield from batch


def _due_ids(session: Session, now: datetime) -> list[uuid.UUID]:
    query = (
        select(Delivery.id)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.due_at <= now)
        .order_by(Delivery.due_at)
        .limit(SEND_BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # other schedulers take other rows
    ids = list(session.scalars(query))
    session.commit()
    return ids


# --- escalation (S8) and reconciliation ------------------------------------------------


def notify_duty_to_warn(session: Session, now: datetime) -> int:
    """Queue the on-call notice of every open duty to warn that has none yet (S8): the raise
    queues it; this catches a task opened before, so none is ever left untold."""
    return on_call_notice.queue_missing(session, now)


def send_on_call_notices(rt: Runtime, now: datetime) -> int:
    """Send the on-call notices due (S8); run beside the callback applier, every 2 s, so the
    supervisor's phone rings moments after a duty to warn is raised."""
    with rt.session() as session:
        return on_call_notice.send_due(session, rt.outward(), now)


def escalate_overdue(session: Session, now: datetime) -> int:
    """Escalate every open task past its deadline to a supervisor, once each."""
    return _once_per_task(session, now, AuditAction.TASK_ESCALATED, OutreachTask.due_by < now)


def _once_per_task(
    session: Session, now: datetime, action: AuditAction, condition: ColumnElement[bool]
) -> int:
    # The audit row is the record that it was done: a task already named there is skipped.
    done = set(
        session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == action.value))
    )
    due = [
        task
        for task in session.scalars(
            select(OutreachTask).where(OutreachTask.status == TaskStatus.OPEN.value, condition)
        )
        if str(task.id) not in done
    ]
    for task in due:
        record(
            session,
            now=now,
            actor=SYSTEM,
            action=action,
            object_type="task",
            object_id=task.id,
            program_id=task.program_id,
            reason=task.reason,
        )
    session.commit()
    return len(due)


def reconcile_stuck(session: Session, now: datetime) -> int:
    """Claimed sends that never settled are marked for a person to check; never resent."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - STUCK_AFTER)
        .values(status=DeliveryStatus.UNKNOWN, settled_at=now)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
