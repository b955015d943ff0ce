"""Releases of information and compelled disclosures (S7): supervisors record and share,
a liaison revokes a release the moment the contact says so; facilitators are refused."""

from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from outreach.domain.releases import (
    Authority,
    DisclosedItem,
    GivenAs,
    Purpose,
    RecipientKind,
    RevokedHow,
    ScopeItem,
)
from outreach.services.contact_persons import disclosures, release_pages, releases, sharing
from outreach.services.errors import Invalid, ServiceError
from outreach.services.scheduling.queue import reference
from outreach.web import common
from outreach.web.common import actor, db, form_local_time, form_text, now, rt, staff

bp = Blueprint("releases", __name__)


@bp.get("/releases")
@staff
def overview() -> ResponseReturnValue:
    found = release_pages.overview(db(), actor=actor(), now=now())
    return render_template("releases.html", found=found)


@bp.get("/contacts/<uuid:contact_id>/releases")
@staff
def contact_page(contact_id: uuid.UUID) -> ResponseReturnValue:
    page = release_pages.contact_page(
        db(), rt().vault, actor=actor(), contact_id=contact_id, now=now()
    )
    return render_template("contact_releases.html", page=page, **_vocabulary())


@bp.post("/contacts/<uuid:contact_id>/releases")
@staff
def grant(contact_id: uuid.UUID) -> ResponseReturnValue:
    terms = releases.ReleaseTerms(
        recipient_kind=form_text("recipient_kind", 30),
        recipient=form_text("recipient", 400),
        purpose=form_text("purpose", 30),
        scope=tuple(request.form.getlist("scope")[:5]),
        given_as=form_text("given_as", 30),
        expires=_date("expires_on"),
        statement=request.form.get("statement", "")[: releases.MAX_STATEMENT + 1].strip(),
    )
    releases.grant_release(
        db(), rt().vault, actor=actor(), contact_id=contact_id, terms=terms, now=now()
    )
    flash(
        gettext("The release is recorded. It authorises sharing from now until it expires."),
        "success",
    )
    return redirect(url_for("releases.contact_page", contact_id=contact_id))


@bp.post("/contacts/<uuid:contact_id>/releases/<uuid:release_id>/revoke")
@staff
def revoke(contact_id: uuid.UUID, release_id: uuid.UUID) -> ResponseReturnValue:
    releases.revoke_release(
        db(),
        actor=actor(),
        contact_id=contact_id,
        release_id=release_id,
        how=form_text("how", 20),
        now=now(),
    )
    flash(gettext("The release is revoked. From this moment it authorises nothing."), "success")
    return redirect(url_for("releases.contact_page", contact_id=contact_id))


@bp.post("/contacts/<uuid:contact_id>/releases/<uuid:release_id>/share")
@staff
def share(contact_id: uuid.UUID, release_id: uuid.UUID) -> ResponseReturnValue:
    summary = sharing.share(
        db(),
        rt().vault,
        actor=actor(),
        contact_id=contact_id,
        release_id=release_id,
        items=request.form.getlist("items")[:5],
        now=now(),
    )
    return render_template("release_share.html", summary=summary)


@bp.post("/contacts/<uuid:contact_id>/disclosures")
@staff
def record_disclosure(contact_id: uuid.UUID) -> ResponseReturnValue:
    report = disclosures.DisclosureReport(
        authority=form_text("authority", 20),
        authority_detail=form_text("authority_detail", disclosures.MAX_TEXT + 1),
        items=tuple(request.form.getlist("items")[:10]),
        description=form_text("description", disclosures.MAX_TEXT + 1),
        disclosed_at=form_local_time("disclosed_at"),  # empty: disclosed now
        notice_task_id=_task_id("notice_task_id"),
        danger_reason=form_text("danger_reason", disclosures.MAX_TEXT + 1),
    )
    disclosures.record_disclosure(
        db(), rt().vault, actor=actor(), contact_id=contact_id, report=report, now=now()
    )
    flash(gettext("The compelled disclosure is recorded."), "success")
    return redirect(url_for("releases.contact_page", contact_id=contact_id))


@bp.post("/contacts/<uuid:contact_id>/disclosures/<uuid:disclosure_id>/confirm")
@staff
def confirm_danger(contact_id: uuid.UUID, disclosure_id: uuid.UUID) -> ResponseReturnValue:
    disclosures.confirm_danger(
        db(), actor=actor(), contact_id=contact_id, disclosure_id=disclosure_id, now=now()
    )
    flash(
        gettext("Confirmed: the contact is not told of this disclosure, for their safety."),
        "success",
    )
    return redirect(url_for("releases.contact_page", contact_id=contact_id))


@bp.errorhandler(ServiceError)
def _refused(exc: ServiceError) -> ResponseReturnValue:
    # Back to the contact's page the form was on (a POST's own path has no page).
    contact_id = (request.view_args or {}).get("contact_id")
    back = (
        url_for("releases.contact_page", contact_id=contact_id)
        if contact_id
        else url_for("auth.home")
    )
    title = common.title(exc.status)
    page = render_template(
        "error.html", code=exc.status, title=title, message=exc.message, back=back
    )
    return page, exc.status


def _vocabulary() -> dict[str, object]:
    return {
        "recipient_kinds": list(RecipientKind),
        "purposes": list(Purpose),
        "scope_items": list(ScopeItem),
        "given_as": list(GivenAs),
        "revoked_how": list(RevokedHow),
        "authorities": list(Authority),
        "disclosed_items": list(DisclosedItem),
        "reference": reference,
    }


def _date(name: str) -> date | None:
    # An empty or unreadable date goes on as None: the service then asks for an expiry.
    try:
        return date.fromisoformat(form_text(name, 10))
    except ValueError:
        return None


def _task_id(name: str) -> uuid.UUID | None:
    raw = form_text(name, 40)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Invalid("choose one of the contact's tasks", {name: "invalid"}) from None
