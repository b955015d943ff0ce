"""The signed-in user's own account: enrol a TOTP second factor."""

from __future__ import annotations

import base64

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from outreach.services import second_factor
from outreach.web.common import db, now, rt, staff

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
        flash("Your second factor is set up. You will be asked for a code at each sign-in.")
        return redirect(url_for("auth.home"))
    uri = None
    if request.method == "POST":
        # The new seed waits in the cookie sealed under the keyring, never in clear.
        pending, uri = second_factor.start_enrolment(keyring, user)
        session["totp_pending"] = base64.b64encode(pending).decode("ascii")
    enrolled = second_factor.has_second_factor(user)
    return render_template("second_factor.html", uri=uri, enrolled=enrolled)
