"""Log in, log out, and the signed-in start page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from outreach.models import User
from outreach.runtime import runtime
from outreach.services import auth
from outreach.services.errors import Forbidden
from outreach.web import check_csrf

bp = Blueprint("auth", __name__)


def db() -> Session:
    if "db" not in g:
        g.db = runtime().sessions()
    db_session: Session = g.db
    return db_session


def current_user() -> User | None:
    token = session.get("sid")
    if not token:
        return None
    return auth.session_user(db(), str(token), now=runtime().clock.now())


@bp.get("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("auth.home" if current_user() else "auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html")
    if not check_csrf():
        abort(400)
    try:
        token = auth.log_in(
            db(),
            username=request.form.get("username", "")[:80],
            password=request.form.get("password", "")[:200],
            now=runtime().clock.now(),
        )
    except Forbidden as exc:
        flash(exc.message)
        return render_template("login.html"), 401
    session.clear()  # a fresh cookie at login: no session fixation
    session["sid"] = token
    return redirect(url_for("auth.home"))


@bp.get("/home")
def home() -> ResponseReturnValue:
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login"))
    return render_template("home.html", user=user)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    if not check_csrf():
        abort(400)
    token = session.pop("sid", None)
    if token:
        auth.log_out(db(), str(token), now=runtime().clock.now())
    session.clear()
    return redirect(url_for("auth.login"))
