"""The supervisor's pages: attempt log, CSV export, compliance, sign-offs, corrections."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from outreach.domain.vocabulary import Outcome, TaskReason
from outreach.services.scheduling import program_time
from outreach.services.supervision import attempt_export, compliance, corrections, review
from outreach.services.supervision import sign_offs as sign_off_service
from outreach.web import pictures
from outreach.web.common import actor, db, form_text, now, page_number, rt, staff

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.get("/attempts")
@staff
def attempt_log() -> ResponseReturnValue:
    filters = review.parse_filter(request.args.to_dict())
    page = review.attempt_log(db(), actor=actor(), filters=filters, now=now(), page=page_number())
    programs = review.programs_in_scope(db(), actor())
    return render_template(
        "attempt_log.html",
        page=page,
        args=request.args.to_dict(),
        reasons=list(TaskReason),
        outcomes=list(Outcome),
        programs=programs,
        liaisons=review.liaisons_in_scope(db(), actor()),
        # Issue 22 item 5: each attempt in its program's time, as the task page shows it.
        zones={p.key: ZoneInfo(p.timezone) for p in programs},
    )


@bp.get("/attempts.csv")
@staff
def export() -> ResponseReturnValue:
    filters = review.parse_filter(request.args.to_dict())
    # Checked and audited here, in the request; the lines read the log in short transactions
    # of their own as they are sent, never on the request's session (issue 21 finding 1).
    lines = attempt_export.export_csv(
        db(), rt().sessions, actor=actor(), filters=filters, now=now()
    )
    response = Response(lines, mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=attempts.csv"
    return response


@bp.get("/duty-to-warn.csv")
@staff
def warn_responses_csv() -> ResponseReturnValue:
    """S8: each duty to warn's response time, raised -> first attempt -> reached."""
    lines = compliance.warn_responses_csv(db(), actor=actor(), now=now())
    response = Response("\n".join(lines) + "\n", mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=duty-to-warn.csv"
    return response


@bp.get("/compliance")
@staff
def compliance_page() -> ResponseReturnValue:
    found = compliance.compliance(db(), actor=actor(), now=now())
    charts = {
        "overdue": pictures.bar_chart(list(found.overdue.items())),
        "dtw": pictures.bar_chart(
            [(ref, m) for ref, m in found.duty_to_warn_minutes if m is not None][-20:],
            unit=" min",
        ),
        "kind": pictures.bar_chart(_rates(found.reach_by_kind, KIND_WORDS.get), unit="%"),
        "hour": pictures.bar_chart(_rates(found.reach_by_hour, _hour), unit="%"),
    }
    rows: list[compliance.Flagged | compliance.Reopened | compliance.Unrecorded] = [
        *found.flagged,
        *found.reopened,
        *found.unrecorded_calls,
    ]
    ids = [r.task_id for r in rows] + [r.task_id for r in found.warn_responses]
    zones = program_time.task_zones(db(), ids)
    return render_template("compliance.html", found=found, charts=charts, zones=zones)


@bp.get("/sign-offs")
@staff
def sign_offs() -> ResponseReturnValue:
    waiting = sign_off_service.awaiting_sign_off(db(), actor=actor(), now=now())
    reopened = compliance.reopened_tasks(db(), actor=actor(), now=now())
    lately = sign_off_service.signed_off_lately(db(), actor=actor(), now=now())
    ids = [t.id for t in waiting] + [r.task_id for r in reopened] + [s.task_id for s in lately]
    zones = program_time.task_zones(db(), ids)
    return render_template(
        "sign_offs.html",
        waiting=waiting,
        reopened=reopened,
        lately=lately,
        zones=zones,
        reference=_reference,
    )


@bp.post("/tasks/<uuid:task_id>/sign-off")
@staff
def sign_off(task_id: uuid.UUID) -> ResponseReturnValue:
    sign_off_service.sign_off(
        db(), actor=actor(), task_id=task_id, now=now(), comment=form_text("comment", 1000)
    )
    flash(
        gettext('Signed off. It is listed below under "Signed off lately", with your comment.'),
        "success",
    )
    return redirect(url_for("review.sign_offs"))


@bp.post("/attempts/<uuid:attempt_id>/correction")
@staff
def correct(attempt_id: uuid.UUID) -> ResponseReturnValue:
    corrections.correct_attempt(
        db(), actor=actor(), attempt_id=attempt_id, outcome=form_text("outcome", 30), now=now()
    )
    return redirect(url_for("review.attempt_log"))


# The charts' labels in the reader's language (issue 22 item 8).
KIND_WORDS = {
    "group": lazy_gettext("in group time"),
    "preferred": lazy_gettext("at a time she named"),
}


def _hour(hour: int) -> str:
    return str(
        gettext("%(start)s to %(end)s", start=f"{hour:02d}:00", end=f"{(hour + 1) % 24:02d}:00")
    )


def _rates(
    counts: Mapping[Any, tuple[int, int]], name: Callable[[Any], str | None]
) -> list[tuple[str, float]]:
    """Rates with labels in words (issue 22 item 5), never internal names."""
    return [(name(k) or str(k), round(100 * r / n) if n else 0) for k, (r, n) in counts.items()]


def _reference(contact_id: uuid.UUID) -> str:
    from outreach.services.scheduling.queue import reference

    return reference(contact_id)
