"""The signed-in user's own account: password, TOTP second factor, own phone."""

from __future__ import annotations

import base64

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext

from outreach.services.staff import auth, second_factor, users
from outreach.web.common import db, now, rt, staff
from outreach.web.language import i18n

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/second-factor", methods=["GET", "POST"], endpoint="second_factor")
@staff
def second_factor_page() -> ResponseReturnValue:
    keyring, user = rt().vault.keyring, g.user
    if request.method == "POST" and request.form.get("code") and session.get("totp_pending"):
        second_factor.confirm_enrolment(
            db(),
            keyring,
            user_id=user.id,
            pending=base64.b64decode(session["totp_pending"]),
            code=request.form["code"][:12],
            now=now(),
        )
        session.pop("totp_pending", None)
        # Whoever held the old factor may be signed in elsewhere: the change shuts them out.
        auth.sign_out_elsewhere(db(), user=user, keep_token=str(session.get("sid", "")), now=now())
        flash(
            gettext("Your second factor is set up. You will be asked for a code at each sign-in."),
            "success",
        )
        return redirect(url_for("auth.home"))
    uri = None
    if request.method == "POST":
        auth.confirm_identity(
            db(),
            keyring,
            user=user,
            password=request.form.get("password", "")[:200],
            code=request.form.get("current_code", "")[:12],
            now=now(),
        )
        # The new seed waits in the cookie sealed under the keyring, never in clear.
        pending, uri = second_factor.start_enrolment(keyring, user)
        session["totp_pending"] = base64.b64encode(pending).decode("ascii")
    enrolled = second_factor.has_second_factor(user)
    return render_template("second_factor.html", uri=uri, enrolled=enrolled)


@bp.route("/password", methods=["GET", "POST"], endpoint="password")
@staff
def password_page() -> ResponseReturnValue:
    if request.method == "POST":
        new = request.form.get("new", "")[:200]
        if new != request.form.get("repeat", "")[:200]:
            flash(gettext("The new password and its repeat differ; nothing was changed."), "error")
            return render_template("password.html"), 422
        ended = auth.change_password(
            db(),
            user=g.user,
            current=request.form.get("current", "")[:200],
            new=new,
            keep_token=str(session.get("sid", "")),
            now=now(),
        )
        flash(
            gettext(
                "Your password is changed. Signed out elsewhere: %(n)s other session(s).", n=ended
            ),
            "success",
        )
        return redirect(url_for("auth.home"))
    return render_template("password.html")


@bp.route("/phone", methods=["GET", "POST"], endpoint="phone")
@staff
def phone_page() -> ResponseReturnValue:
    """The user's own phone, sealed (S10): a bridged call rings it first, and an on-call
    supervisor gets a duty to warn's notice on it (S8)."""
    user = g.user
    if request.method == "POST":
        # Whoever finds a screen left signed in must not move someone's calls to their phone.
        auth.confirm_identity(
            db(),
            rt().vault.keyring,
            user=user,
            password=request.form.get("password", "")[:200],
            code=request.form.get("code", "")[:12],
            now=now(),
        )
        users.set_phone(
            db(), rt().vault, user_id=user.id, phone=request.form.get("phone", "")[:40],
            now=now(), actor=g.actor,
        )  # fmt: skip
        flash(gettext("Your phone is saved."), "success")
        return redirect(url_for("account.phone"))
    current = users.own_phone(rt().vault.keyring, user)
    return render_template(
        "phone.html",
        ending=None if current is None else current[-2:],
        enrolled=second_factor.has_second_factor(user),
    )


@bp.route("/language", methods=["GET", "POST"], endpoint="language")
@staff
def language_page() -> ResponseReturnValue:
    """The language of the user's own screens (issue 22 item 8); unset, their programs' (S12)."""
    if request.method == "POST":
        language = request.form.get("language", "")[:5]
        users.set_language(db(), user_id=g.user.id, language=language, actor=g.actor)
        # The message is read on the next page, in the language just chosen.
        with force_locale(language or i18n.staff_language()):
            flash(gettext("The language of your screens is saved."), "success")
        return redirect(url_for("account.language"))
    return render_template("language.html", chosen=g.user.language)
