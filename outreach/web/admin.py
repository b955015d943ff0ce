"""The admin's pages: users and their roles and programs, API tokens, programs."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from outreach.domain.vocabulary import Role
from outreach.services.staff import admin
from outreach.services.supervision import on_call
from outreach.web.common import actor, db, form_text, now, rt, staff

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@staff
def users() -> ResponseReturnValue:
    found = admin.all_users(db(), actor=actor(), now=now())
    programs = admin.all_programs(db(), actor=actor(), now=now())
    # An account shows only the admin's programs, and its buttons only when every program it
    # works in is the admin's (the service refuses the rest anyway).
    return render_template(
        "admin_users.html",
        users=found,
        roles=list(Role),
        programs=programs,
        mine=[p.id for p in programs],
    )


@bp.post("/users")
@staff
def create_user() -> ResponseReturnValue:
    admin.create_user(
        db(),
        actor=actor(),
        username=form_text("username", 80),
        role=form_text("role", 20),
        password=request.form.get("password", "")[:200],
        program_keys=request.form.getlist("programs"),
        now=now(),
    )
    flash(gettext("The account is created."), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<uuid:user_id>/disable")
@staff
def disable(user_id: uuid.UUID) -> ResponseReturnValue:
    admin.disable_user(db(), actor=actor(), user_id=user_id, now=now())
    flash(gettext("The account is disabled."), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<uuid:user_id>/token")
@staff
def token(user_id: uuid.UUID) -> ResponseReturnValue:
    days = rt().settings.api_token_days
    issued = admin.issue_token(db(), actor=actor(), user_id=user_id, days=days, now=now())
    return render_template("admin_token.html", issued=issued)


@bp.get("/programs")
@staff
def programs() -> ResponseReturnValue:
    found = admin.all_programs(db(), actor=actor(), now=now())
    return render_template("admin_programs.html", programs=found, protocols=sorted(rt().profiles))


@bp.post("/programs")
@staff
def create_program() -> ResponseReturnValue:
    admin.create_program(
        db(),
        actor=actor(),
        key=form_text("key", 40),
        name=form_text("name"),
        protocol=form_text("protocol", 60),
        timezone=form_text("timezone", 64),
        language=form_text("language", 5) or None,  # S12: empty keeps the protocol's
        now=now(),
    )
    flash(gettext("The program is created."), "success")
    return redirect(url_for("admin.programs"))


@bp.get("/programs/duty-to-warn")
@staff
def duty_to_warn_settings() -> ResponseReturnValue:
    """S8: each program's on-call supervisor and duty-to-warn response target."""
    found = on_call.settings_of(db(), actor=actor(), now=now())
    return render_template("admin_on_call.html", settings=found)


@bp.post("/programs/<uuid:program_id>/on-call")
@staff
def set_on_call(program_id: uuid.UUID) -> ResponseReturnValue:
    chosen = form_text("supervisor", 80)
    on_call.set_on_call(
        db(), program_key=program_id, username=chosen or None, now=now(), actor=actor()
    )
    flash(
        gettext("The on-call supervisor is set.")
        if chosen
        else gettext("Nobody is on call for this program now."),
        "success" if chosen else "warning",
    )
    return redirect(url_for("admin.duty_to_warn_settings"))


@bp.post("/programs/<uuid:program_id>/duty-to-warn-target")
@staff
def set_target(program_id: uuid.UUID) -> ResponseReturnValue:
    try:
        minutes = int(form_text("minutes", 5))
    except ValueError:
        minutes = 0  # refused by the service with the range named
    on_call.set_target(db(), program_key=program_id, minutes=minutes, now=now(), actor=actor())
    flash(gettext("The response target is set."), "success")
    return redirect(url_for("admin.duty_to_warn_settings"))
