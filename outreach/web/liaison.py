"""The liaison's pages: the call queue, claiming a task, the task page and its outcome form."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from outreach.domain.vocabulary import Outcome
from outreach.services import claimed_work, duty_to_warn, opt_back_in, queue, task_page
from outreach.services.errors import Conflict
from outreach.web import pictures
from outreach.web.common import (
    actor,
    calling_hours,
    db,
    form_local_time,
    form_text,
    now,
    page_number,
    rt,
    staff,
)

bp = Blueprint("liaison", __name__)
# The contact is dialled only once a person presses 1 on the liaison's leg, never a voicemail.
CALL_PLACED = "Your phone will ring first. Answer it and press 1; then the contact is dialled."


@bp.get("/queue")
@staff
def call_queue() -> ResponseReturnValue:
    page = queue.call_queue(
        db(),
        rt().profiles,
        actor=actor(),
        now=now(),
        calling_hours=calling_hours(),
        page=page_number(),
    )
    return render_template("queue.html", page=page, now=now(), Section=queue.Section)


@bp.post("/tasks/<uuid:task_id>/claim")
@staff
def claim(task_id: uuid.UUID) -> ResponseReturnValue:
    queue.claim_task(db(), actor=actor(), task_id=task_id, now=now())
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.get("/tasks/<uuid:task_id>")
@staff
def task(task_id: uuid.UUID) -> ResponseReturnValue:
    offset = max(-8, min(request.args.get("week", 0, type=int), 8))
    found = task_page.task_page(
        db(),
        rt().vault,
        rt().profiles,
        actor=actor(),
        task_id=task_id,
        now=now(),
        calling_hours=calling_hours(),
        week_offset=offset,
    )
    picture = pictures.week_picture(found.week, now())
    return render_template(
        "task.html", page=found, picture=picture, outcomes=list(Outcome), offset=offset, now=now()
    )


@bp.post("/tasks/<uuid:task_id>/attempts")
@staff
def record_attempt(task_id: uuid.UUID) -> ResponseReturnValue:
    outcome = form_text("outcome", 30)
    if outcome == Outcome.DECLINED and request.form.get("confirm") != "yes":
        # S1: a decline stops every contact for good, so it takes a second, deliberate step.
        return render_template("confirm_decline.html", task_id=task_id, form=request.form)
    claimed_work.record_attempt(
        db(),
        rt().vault,
        actor=actor(),
        task_id=task_id,
        channel=form_text("channel", 10) or "voice",
        local_at=form_local_time("at"),
        outcome=outcome,
        local_callback=form_local_time("callback_at"),
        notes=request.form.get("notes", "")[:4000].strip(),
        now=now(),
    )
    if outcome == Outcome.DECLINED:
        return redirect(url_for("liaison.call_queue"))
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/call")
@staff
def call(task_id: uuid.UUID) -> ResponseReturnValue:
    """One click: the liaison's own phone rings first, then the contact is dialled."""
    try:
        claimed_work.place_call(
            db(),
            rt().outward(),
            rt().profiles,
            actor=actor(),
            task_id=task_id,
            now=now(),
            calling_hours=calling_hours(),
            outside_window=request.form.get("outside_window") == "yes",
        )
    except claimed_work.NoWindowOpen as closed:
        # S4: outside a proposed window the participant may be at home; ask first.
        zone = claimed_work.task_zone(db(), task_id)
        return render_template(
            "confirm_call.html", task_id=task_id, next_window=closed.next_window, zone=zone
        )
    except Conflict as refused:
        flash(refused.message)  # e.g. outside calling hours, or no phone of your own on file
    else:
        flash(CALL_PLACED)
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/close")
@staff
def close(task_id: uuid.UUID) -> ResponseReturnValue:
    claimed_work.close(
        db(), actor=actor(), task_id=task_id, resolution=form_text("resolution", 20), now=now()
    )
    return redirect(url_for("liaison.call_queue"))


@bp.post("/tasks/<uuid:task_id>/rhythm")
@staff
def rhythm(task_id: uuid.UUID) -> ResponseReturnValue:
    """S13: the rhythm she chose, recorded after a conversation with her."""
    claimed_work.change_rhythm(
        db(),
        rt().vault,
        rt().profiles,
        actor=actor(),
        task_id=task_id,
        cadence=form_text("cadence", 40),
        now=now(),
    )
    flash("Her rhythm is recorded; her check-ins follow it.")
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/channels")
@staff
def channels(task_id: uuid.UUID) -> ResponseReturnValue:
    """S1: the channels she allows, as she said them on the call ("no calls, texts are fine")."""
    claimed_work.change_channels(
        db(),
        rt().vault,
        rt().profiles,
        actor=actor(),
        task_id=task_id,
        channels={c: request.form.get(c) == "yes" for c in opt_back_in.CHANNELS},
        now=now(),
    )
    flash("Her channels are recorded; nothing reaches her on a channel she turned off.")
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/opt-back-in")
@staff
def opt_back_in_request(task_id: uuid.UUID) -> ResponseReturnValue:
    """S1: a declined contact asks to be contacted again; held until a supervisor confirms."""
    opt_back_in.request_on_task(
        db(),
        rt().vault,
        actor=actor(),
        task_id=task_id,
        words=request.form.get("her_words", "")[:2000],
        channels={c: request.form.get(c) == "yes" for c in opt_back_in.CHANNELS},
        now=now(),
    )
    flash("Her request is recorded. It takes effect once a supervisor confirms it.")
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/opt-back-in/<uuid:request_id>/confirm")
@staff
def opt_back_in_confirm(task_id: uuid.UUID, request_id: uuid.UUID) -> ResponseReturnValue:
    """S1: a supervisor other than the one who recorded it confirms her request."""
    opt_back_in.confirm(db(), actor=actor(), request_id=request_id, now=now())
    flash("Confirmed: she consents again, on the channels she named.")
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/confirm")
@staff
def confirm(task_id: uuid.UUID) -> ResponseReturnValue:
    """S1/S8: a supervisor confirms a duty to warn that reaches a contact who declined."""
    duty_to_warn.confirm(db(), actor=actor(), task_id=task_id, now=now())
    flash("Confirmed: the duty to warn is in the queue and may be called now.")
    return redirect(url_for("liaison.task", task_id=task_id))
