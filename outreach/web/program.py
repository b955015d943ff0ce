"""The facilitator's pages: groups, schedules, cancellations, check-in, program events (S7).

These pages never show contact-person data, not even whether a participant has a contact.
"""

from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from outreach.domain.vocabulary import DATED_EVENTS, EventType, Severity
from outreach.services.errors import Invalid
from outreach.services.intake import events, programs, roster
from outreach.web.common import actor, arg_date, db, form_text, now, rt, staff

bp = Blueprint("program", __name__)


@bp.get("/groups")
@staff
def groups() -> ResponseReturnValue:
    return render_template("groups.html", programs=roster.groups(db(), actor=actor(), now=now()))


@bp.get("/groups/<uuid:group_id>")
@staff
def group(group_id: uuid.UUID) -> ResponseReturnValue:
    view = roster.group_view(
        db(), actor=actor(), group_id=group_id, day=arg_date("date"), now=now()
    )
    kinds = [e for e in EventType if e != EventType.CLASS_CANCELLED]
    return render_template("group.html", view=view, events=kinds, severities=list(Severity))


@bp.post("/groups/<uuid:group_id>/cancellations")
@staff
def cancel(group_id: uuid.UUID) -> ResponseReturnValue:
    programs.cancel_session(
        db(),
        rt().profiles,
        group_id=group_id,
        session_date=_form_date("date"),
        reason=form_text("reason") or "cancelled",
        now=now(),
        actor=actor(),
    )
    flash(gettext("The session is cancelled; it will not be used as a call window."), "success")
    return redirect(url_for("program.group", group_id=group_id))


@bp.post("/participants/<uuid:participant_id>/attendance")
@staff
def attendance(participant_id: uuid.UUID) -> ResponseReturnValue:
    status = form_text("status", 10)
    row = programs.record_attendance(
        db(),
        rt().profiles,
        participant_id=participant_id,
        session_date=_form_date("date"),
        status=status,
        checked_in_at=now() if status == "present" else None,
        now=now(),
        actor=actor(),
    )
    return redirect(url_for("program.group", group_id=form_text("group"), date=row.session_date))


@bp.post("/participants/<uuid:participant_id>/events")
@staff
def event(participant_id: uuid.UUID) -> ResponseReturnValue:
    events.report_event(
        db(),
        rt().profiles,
        actor=actor(),
        participant_id=participant_id,
        event_type=form_text("type", 40),
        at=now(),
        severity=form_text("severity", 20) or "routine",
        now=now(),
        days=_event_day(form_text("type", 40)),
    )
    # S7: say nothing about what follows on the contact side, not even how many tasks opened.
    flash(gettext("The event is recorded."), "success")
    return redirect(url_for("program.group", group_id=form_text("group")))


def _event_day(kind: str) -> dict[str, date | None]:
    """The form's one day field, named as the event carries it (a court report's
    `report_date`, a planned discharge's `discharge_on`); refused with any other event."""
    if not form_text("day"):
        return {}
    field = next((f for e, f in DATED_EVENTS.items() if e.value == kind), None)
    if field is None:
        raise Invalid(
            "a day goes only with a court report or a planned discharge", {"day": "not expected"}
        )
    return {field: _form_date("day")}


def _form_date(name: str) -> date:
    try:
        return date.fromisoformat(form_text(name, 10))
    except ValueError:
        raise Invalid("give the date as YYYY-MM-DD", {name: "invalid"}) from None
