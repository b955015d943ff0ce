"""Log in, log out, and the signed-in start page."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from outreach.models import User
from outreach.runtime import runtime
from outreach.services.errors import Forbidden
from outreach.services.staff import auth, second_factor
from outreach.web.language import service_sentences

bp = Blueprint("auth", __name__)
SECOND_STEP_LIMIT = timedelta(minutes=5)


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
    user = current_user()
    return redirect(landing(user) if user else url_for("auth.login"))


# Issue 22 item 4: each role lands on the page its work starts from, not on "Signed in".
LANDING = {
    "liaison": "liaison.call_queue",
    "supervisor": "review.compliance_page",
    "facilitator": "program.groups",
    "admin": "admin.users",
}


def landing(user: User) -> str:
    return url_for(LANDING.get(user.role, "auth.home"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html")
    now = runtime().clock.now()
    try:
        user = auth.authenticate(
            db(),
            username=request.form.get("username", "")[:80],
            password=request.form.get("password", "")[:200],
            now=now,
            address=request.remote_addr or "",
        )
    except Forbidden as exc:
        flash(service_sentences.say(exc.message), "error")
        return render_template("login.html"), 401
    _end_server_session(now)  # signing in again ends the session this browser had
    session.clear()  # a fresh cookie at login: no session fixation
    if second_factor.has_second_factor(user):
        session["pending_user"], session["pending_at"] = str(user.id), now.isoformat()
        return redirect(url_for("auth.second_step"))
    session["sid"] = auth.open_session(db(), user, now)
    return redirect(landing(user))


@bp.route("/login/code", methods=["GET", "POST"])
def second_step() -> ResponseReturnValue:
    """The second factor: a code from the user's authenticator app, within five minutes."""
    now = runtime().clock.now()
    user_id = _pending_user(now)
    if user_id is None:
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("login_code.html")
    try:
        user = auth.second_step(
            db(),
            runtime().vault.keyring,
            user_id=user_id,
            code=request.form.get("code", "")[:12],
            now=now,
            address=request.remote_addr or "",
        )
    except Forbidden:
        flash(service_sentences.say(second_factor.BAD_CODE), "error")
        return render_template("login_code.html"), 401
    session.clear()
    session["sid"] = auth.open_session(db(), user, now)
    return redirect(landing(user))


def _pending_user(now: datetime) -> uuid.UUID | None:
    try:
        started = datetime.fromisoformat(str(session.get("pending_at", "")))
        user_id = uuid.UUID(str(session.get("pending_user", "")))
    except ValueError:
        return None
    return user_id if now - started < SECOND_STEP_LIMIT else None


@bp.get("/home")
def home() -> ResponseReturnValue:
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login"))
    g.user = user
    return render_template("home.html", user=user)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    _end_server_session(runtime().clock.now())
    session.clear()
    response = redirect(url_for("auth.login"))
    # The browser drops what it cached or stored for this site (ASVS 14.3.1).
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


def _end_server_session(now: datetime) -> None:
    token = session.pop("sid", None)
    if token:
        auth.log_out(db(), str(token), now=now)
