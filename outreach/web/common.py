"""What every staff page shares: who is signed in, service errors as pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from outreach.domain.vocabulary import Role
from outreach.logs import request_refused
from outreach.runtime import Runtime, runtime
from outreach.services.errors import Invalid, ServiceError
from outreach.services.records.audit import Actor
from outreach.services.staff import second_factor
from outreach.services.supervision import on_call_notice
from outreach.web.auth import current_user, db

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])
# The only pages a user who still has to enrol a second factor may reach (production).
ENROLMENT_ENDPOINTS = frozenset({"account.second_factor", "auth.logout"})

__all__ = ["actor", "db", "now", "rt", "staff"]


def init_app(app: Flask) -> None:
    app.register_error_handler(ServiceError, _service_error)
    app.context_processor(_waiting_warnings)


def _waiting_warnings() -> dict[str, Any]:
    """S8: every supervisor page carries the duties to warn nobody has claimed yet."""
    user = g.get("user")
    if user is None or user.role != Role.SUPERVISOR:
        return {}
    return {"waiting_warnings": on_call_notice.waiting(db(), Actor.of(user), now())}


def staff(view: View) -> View:
    """Require a signed-in user. (Every POST's CSRF token was checked before any view runs:
    web.refuse_forged_posts.)"""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        user = current_user()
        if user is None:
            return redirect(url_for("auth.login"))
        g.user, g.actor = user, Actor.of(user)
        if second_factor.must_enrol(user, rt().settings) and (
            request.endpoint not in ENROLMENT_ENDPOINTS
        ):
            return redirect(url_for("account.second_factor"))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def actor() -> Actor:
    found: Actor = g.actor
    return found


def rt() -> Runtime:
    return runtime()


def now() -> datetime:
    return runtime().clock.now()


def calling_hours() -> tuple[time, time]:
    settings = runtime().settings
    return settings.calling_start, settings.calling_end


def form_text(name: str, limit: int = 200) -> str:
    return request.form.get(name, "").strip()[:limit]


def form_local_time(name: str) -> datetime | None:
    """A datetime-local field as a naive wall-clock time (None when empty).

    The service that takes it decides its zone: the task page's is the contact's, a release's
    the program's.
    """
    raw = form_text(name, 20)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("give the time as YYYY-MM-DD HH:MM", {name: "invalid"}) from None


def arg_date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


def _service_error(exc: ServiceError) -> ResponseReturnValue:
    # Service messages are written for the screen and never hold contact data.
    request_refused(request.path, exc.status, type(exc).__name__, exc.fields)
    if request.path.startswith("/api/"):
        return {"error": exc.message, "fields": exc.fields}, exc.status
    back = request.path if request.method == "GET" else request.path.rsplit("/", 1)[0]
    page = render_template(
        "error.html", code=exc.status, title=title(exc.status), message=exc.message, back=back
    )
    return page, exc.status


def title(status: int) -> str:
    """A refused request's page title, in the reader's language (issue 22 item 8)."""
    titles = {
        403: gettext("Not allowed"),
        404: gettext("Not found"),
        409: gettext("Not possible now"),
    }
    return str(titles.get(status, gettext("Please check what you entered")))
