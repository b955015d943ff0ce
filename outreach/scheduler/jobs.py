"""Due work, run once per tick. Each step may run twice, or in two processes, and do no harm:
work is claimed with a conditional UPDATE (and SKIP LOCKED on PostgreSQL) before it is done,
and a claimed-but-unsettled send is reconciled, never resent blindly.

A job reads the runtime (its clock, settings and channel) and calls the service that owns the
work and its transaction: reminders and due texts (services/delivery), escalation and on-call
notices (services/supervision), check-ins (services/intake), plans (services/scheduling).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from datetime import time as dt_time

from sqlalchemy.orm import Session

from outreach.runtime import Runtime
from outreach.services.delivery import due_texts, inbox, reconcile
from outreach.services.intake import check_ins
from outreach.services.scheduling import call_windows, reminders
from outreach.services.supervision import escalation, on_call_notice


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
            report.escalated = escalation.escalate_overdue(session, now)
            report.reconciled = reconcile.reconcile_stuck(session, now)
            report.reconciled += reconcile.reconcile_quiet(session, rt.outward().channel, now)
        if leading():
            report.check_ins_opened = check_ins.open_periodic_check_ins(
                session, rt.profiles, now=now
            )
            report.check_in_texts_planned = check_ins.schedule_texts(
                session, rt.profiles, _calling_hours(rt), now
            )
            report.reminders_scheduled = schedule_reminders(session, rt, now)
            report.sent, report.missed, report.refused = due_texts.send_due(
                session,
                rt.outward(),
                now,
                clock=rt.clock.now,
                leading=leading,
                windows=due_texts.WindowCheck(rt.profiles),
            )
        if leading():
            # Last: so the queue sorts by windows that already count this tick's changes.
            report.plans_refreshed = call_windows.refresh_all(
                session, rt.profiles, now=now, calling_hours=_calling_hours(rt)
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


def _calling_hours(rt: Runtime) -> tuple[dt_time, dt_time]:
    return (rt.settings.calling_start, rt.settings.calling_end)


def schedule_reminders(session: Session, rt: Runtime, now: datetime) -> int:
    """Plan the heads-up texts of the coming day (services/delivery/reminders, S1, S2, S4)."""
    return reminders.schedule_reminders(
        session, rt.profiles, calling_hours=_calling_hours(rt), now=now
    )


# --- duty to warn (S8) -------------------------------------------------------------------


def notify_duty_to_warn(session: Session, now: datetime) -> int:
    """Queue the on-call notice of every open duty to warn that has none yet (S8): the raise
    queues it; this catches a task opened before, so none is ever left untold."""
    return on_call_notice.queue_missing(session, now)


def send_on_call_notices(rt: Runtime, now: datetime) -> int:
    """Send the on-call notices due (S8); run beside the callback applier, every 2 s, so the
    supervisor's phone rings moments after a duty to warn is raised."""
    with rt.session() as session:
        return on_call_notice.send_due(session, rt.outward(), now)
