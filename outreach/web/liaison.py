"""The liaison's pages: the call queue, claiming a task, the task page and its outcome form."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from outreach.domain.vocabulary import Outcome, TaskReason
from outreach.services.attempts import call_progress, claimed_work, letters, task_page
from outreach.services.contact_persons import opt_back_in
from outreach.services.errors import Conflict, Invalid, ServiceError
from outreach.services.scheduling import claims, languages, queue
from outreach.services.supervision import duty_to_warn
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
from outreach.web.language import service_sentences, stored_words

bp = Blueprint("liaison", __name__)
# The contact is dialled only once a person presses 1 on the liaison's leg, never a voicemail.
CALL_PLACED = lazy_gettext(
    "Your phone will ring first. Answer it and press 1; then the contact is dialled."
)


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
        filters=_queue_filters(),
    )
    return render_template(
        "queue.html",
        page=page,
        now=now(),
        Section=queue.Section,
        reasons=list(TaskReason),
        languages=languages.NAMES,
    )


def _queue_filters() -> queue.Filters:
    """The queue's filters from the address; anything malformed is simply not applied."""
    args = request.args
    try:
        program = uuid.UUID(args.get("program", "")[:40]) if args.get("program") else None
    except ValueError:
        program = None
    reason = args.get("reason", "")[:40]
    typed = args.get("ref", "")[:12].strip().lower().removeprefix("c-")
    language = args.get("language", "")[:8]
    return queue.Filters(
        program=program,
        reason=reason if reason in {r.value for r in TaskReason} else None,
        overdue=args.get("overdue") == "1",
        open_now=args.get("open_now") == "1",
        mine=args.get("mine") == "1",
        reference=typed if all(c in "0123456789abcdef" for c in typed) else "",
        language=language if language in languages.NAMES else None,
    )


@bp.post("/tasks/<uuid:task_id>/claim")
@staff
def claim(task_id: uuid.UUID) -> ResponseReturnValue:
    claims.claim_task(db(), actor=actor(), task_id=task_id, now=now())
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
        "task.html",
        page=found,
        picture=picture,
        outcomes=list(found.outcomes),
        offset=offset,
        now=now(),
        late_entry_hours=rt().settings.late_entry_hours,
        followed=call_progress.followed_call(db(), actor(), found.task, now())
        if found.claimed
        else None,
    )


@bp.post("/tasks/<uuid:task_id>/attempts")
@staff
def record_attempt(task_id: uuid.UUID) -> ResponseReturnValue:
    outcome = form_text("outcome", 30)
    if outcome == Outcome.DECLINED and request.form.get("confirm") != "yes":
        # S1: a decline stops every contact for good, so it takes a second, deliberate step.
        return render_template("confirm_decline.html", task_id=task_id, form=request.form)
    try:
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
            reason=form_text("reason", 200),
            late_after=rt().settings.late_entry,
            answered_call=_form_id("call"),
        )
    except Invalid as refused:
        if refused.fields.get("reason") != "required":
            raise
        # S14: the time is before the task opened or long past: ask why, keeping what was typed.
        page = render_template(
            "attempt_reason.html", task_id=task_id, form=request.form, message=refused.message
        )
        return page, 422
    if outcome == Outcome.DECLINED:
        return redirect(url_for("liaison.call_queue"))
    return redirect(url_for("liaison.task", task_id=task_id))


def _form_id(name: str) -> uuid.UUID | None:
    raw = form_text(name, 40)
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        raise Invalid(f"{name} is not a valid id", {name: "invalid"}) from None


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
        # e.g. outside calling hours, or no phone of your own on file
        flash(
            gettext(
                "The call was not placed: %(why)s.", why=service_sentences.say(refused.message)
            ),
            "error",
        )
    else:
        flash(str(CALL_PLACED), "success")
    return redirect(url_for("liaison.task", task_id=task_id))


CLOSED = lazy_gettext("%(reference)s is closed as %(resolution)s. It has left the queue.")
UPDATES_ON = lazy_gettext(
    "She gets status updates: his absences, leave, return and progress summaries each open one."
)
UPDATES_OFF = lazy_gettext("No status updates for her; any still open are cancelled.")


@bp.post("/tasks/<uuid:task_id>/close")
@staff
def close(task_id: uuid.UUID) -> ResponseReturnValue:
    """Closing asks first, then lands back on the queue saying what was done (issue 22 item 3).
    A refusal returns to the task with the reason, never to an error page."""
    resolution = form_text("resolution", 20)
    if request.form.get("confirm") != "yes":
        return render_template(
            "confirm_close.html",
            task_id=task_id,
            resolution=resolution,
            reference=claimed_work.task_reference(db(), actor(), task_id, now()),
        )
    try:
        closed = claimed_work.close(
            db(), actor=actor(), task_id=task_id, resolution=resolution, now=now()
        )
    except Conflict as refused:
        flash(
            gettext("The task is still open: %(why)s.", why=service_sentences.say(refused.message)),
            "error",
        )
        return redirect(url_for("liaison.task", task_id=task_id))
    reference = queue.reference(closed.contact_id)
    flash(
        str(CLOSED) % {"reference": reference, "resolution": stored_words.words(resolution)},
        "success",
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
    flash(gettext("Her rhythm is recorded; her check-ins follow it."))
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/updates")
@staff
def updates(task_id: uuid.UUID) -> ResponseReturnValue:
    """Issue 20 item 8: whether she wants status updates, as she said it on the call."""
    wanted = request.form.get("updates") == "yes"
    claimed_work.change_updates(
        db(),
        rt().vault,
        rt().profiles,
        actor=actor(),
        task_id=task_id,
        wanted=wanted,
        now=now(),
    )
    flash(str(UPDATES_ON if wanted else UPDATES_OFF))
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
    flash(gettext("Her channels are recorded; nothing reaches her on a channel she turned off."))
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
    flash(gettext("Her request is recorded. It takes effect once a supervisor confirms it."))
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/opt-back-in/<uuid:request_id>/confirm")
@staff
def opt_back_in_confirm(task_id: uuid.UUID, request_id: uuid.UUID) -> ResponseReturnValue:
    """S1: a supervisor other than the one who recorded it confirms her request."""
    opt_back_in.confirm(db(), actor=actor(), request_id=request_id, now=now())
    flash(gettext("Confirmed: she consents again, on the channels she named."))
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/confirm")
@staff
def confirm(task_id: uuid.UUID) -> ResponseReturnValue:
    """S1/S8: a supervisor confirms a duty to warn that reaches a contact who declined."""
    duty_to_warn.confirm(db(), actor=actor(), task_id=task_id, now=now())
    flash(gettext("Confirmed: the duty to warn is in the queue and may be called now."))
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/mailing-address")
@staff
def mailing_address(task_id: uuid.UUID) -> ResponseReturnValue:
    """The safe mailing address she named on the call, or its removal (seeds/001
    "Massachusetts": the letter goes only where she said it is safe)."""
    remove = request.form.get("remove") == "yes"
    on_file = letters.set_on_task(
        db(),
        rt().vault,
        rt().profiles,
        actor=actor(),
        task_id=task_id,
        address=None if remove else request.form.get("mailing_address", "")[:1000],
        now=now(),
    )
    if on_file:
        flash(gettext("Her safe mailing address is recorded (encrypted); letters may go there."))
    else:
        flash(
            gettext("No mailing address is on file: no letter can be sent; she is called instead.")
        )
    return redirect(url_for("liaison.task", task_id=task_id))


@bp.get("/tasks/<uuid:task_id>/letter")
@staff
def letter(task_id: uuid.UUID) -> ResponseReturnValue:
    """The printable letter and envelope, for the liaison holding the claim (opening it is
    audited); refused with the reason when she has not allowed mail or named no address."""
    found = letters.letter_page(db(), rt().outward(), actor=actor(), task_id=task_id, now=now())
    return render_template("letter.html", task_id=task_id, page=found), found.status


@bp.post("/tasks/<uuid:task_id>/letter/mailed")
@staff
def letter_mailed(task_id: uuid.UUID) -> ResponseReturnValue:
    """The liaison's "I printed and mailed it": the letter is recorded as sent by mail."""
    try:
        letters.mailed(db(), rt().outward(), actor=actor(), task_id=task_id, now=now())
    except ServiceError as refused:
        if refused.status not in (409, 422):
            raise
        why = service_sentences.say(refused.message)
        flash(gettext("The letter is not recorded: %(why)s.", why=why), "error")
    else:
        flash(
            gettext("The letter is recorded as mailed. You can close the task as completed."),
            "success",
        )
    return redirect(url_for("liaison.task", task_id=task_id))
