"""Server-rendered pages: login now; the liaison, supervisor and facilitator pages build on it."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, Response, abort, g, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from outreach.logs import security_event
from outreach.runtime import runtime
from outreach.security.vault import DataKeyMissing
from outreach.web import schedules
from outreach.web.input_guard import refuse_malformed_input
from outreach.web.language import i18n

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, signed with HMAC-SHA256 instead of its default SHA-1.

    The cookie holds the server-side session's token and, between the password and the code,
    the id of the user signing in: its signature must use an approved MAC (ASVS 11.4.1).
    """

    digest_method = staticmethod(hashlib.sha256)


def init_app(app: Flask) -> None:
    from outreach.web import (
        account,
        admin,
        auth,
        call_following,
        common,
        health,
        liaison,
        program,
        releases,
        review,
    )

    app.session_interface = SessionCookies()

    hops = runtime(app).settings.proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.register_blueprint(auth.bp)
    app.register_blueprint(health.bp)
    for blueprint in (liaison.bp, review.bp, releases.bp, program.bp, admin.bp, account.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(call_following.bp)  # issue 22 item 2: the call, followed live
    common.init_app(app)
    i18n.init_app(app)  # issue 22 item 8: each user's screens in their language (S12)
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.globals["window_end"] = window_end
    app.jinja_env.filters["zone"] = ZoneInfo
    app.jinja_env.filters["city"] = city
    app.jinja_env.filters["script_links"] = script_links
    app.jinja_env.globals["schedule_in_words"] = schedules.in_words
    app.teardown_appcontext(_close_db)
    app.before_request(refuse_malformed_input)  # pages, API and webhooks alike
    app.before_request(refuse_forged_posts)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DataKeyMissing, _data_key_missing)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.globals["csrf_token"] = csrf_token


def local_time(moment: datetime | None, zone: tzinfo, fmt: str = "%a %d %b %H:%M") -> str:
    """Show a stored UTC time as wall-clock time in the zone that matters to the reader."""
    return "" if moment is None else i18n.wall_clock(moment.astimezone(zone), fmt)


def window_end(start: datetime, end: datetime, zone: tzinfo) -> str:
    """A window's end for "start to end": its time alone on the day it began, its day too when it
    runs on (a duty to warn is callable until the task is done, days later, S8): never a
    week-long window shown as "07:21 to 07:21"."""
    same_day = start.astimezone(zone).date() == end.astimezone(zone).date()
    return local_time(end, zone, "%H:%M" if same_day else "%a %d %b %H:%M")


SECTION_MARK = re.compile(r"\[([a-z][a-z-]*)\]")


def script_links(line: str) -> Markup:
    """A script's "go to [not-safe]" shown as a link to that part of the script, in words
    (issue 22 item 8: no raw markers on screen). The line is escaped first."""
    escaped = str(escape(line))
    # Built from escaped text and a [a-z-] section name only: nothing unescaped reaches it.
    return Markup(  # noqa: S704  # nosec B704
        SECTION_MARK.sub(
            lambda m: f'<a href="#script-{m[1]}">{m[1].replace("-", " ").capitalize()}</a>',
            escaped,
        )
    )


def city(zone_key: str) -> str:
    """Name a zone the way people say it: "America/New_York" is "New York" time."""
    return zone_key.rsplit("/", 1)[-1].replace("_", " ")


def csrf_token() -> str:
    from flask import session

    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The only blueprints whose unsafe requests carry no CSRF token, each because something else
# proves who sent them: the API a bearer token in a header no other site can set, the webhooks
# Twilio's signature over the whole request. A new blueprint is protected until it is named here.
CSRF_EXEMPT_BLUEPRINTS = frozenset({"api", "webhooks"})


def refuse_forged_posts() -> None:
    """Every unsafe request to a page must carry the session's CSRF token (ASVS 50.4.3): checked
    here for the whole application, so a view added tomorrow cannot forget it."""
    if request.method in SAFE_METHODS or request.blueprint in CSRF_EXEMPT_BLUEPRINTS:
        return
    if request.routing_exception is not None:
        return  # no such page or method: its 404 or 405 says so, not a CSRF refusal
    if not check_csrf():
        abort(400)


def check_csrf() -> bool:
    from flask import session

    sent = request.form.get("csrf_token", "")
    if bool(sent) and secrets.compare_digest(sent, str(session.get("csrf", ""))):
        return True
    security_event("web.csrf_refused", path=request.path, token_sent=bool(sent))
    return False


def _close_db(_exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    # Pages may show contact data; nothing is kept in browser or proxy caches.
    headers["Cache-Control"] = "no-store"
    if runtime().settings.public_url.startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def _http_error(exc: HTTPException) -> Any:
    if request.path.startswith("/api/"):
        from outreach.api import http_error

        return http_error(exc)
    page = render_template("error.html", code=exc.code, title=i18n.http_title(exc))
    # A page's 405 names the methods it has too (Allow, RFC 9110 15.5.6).
    return page, exc.code or 500, [h for h in exc.get_headers() if h[0].lower() != "content-type"]


def _data_key_missing(exc: DataKeyMissing) -> Any:
    # The operator must learn which key to put back (docs/operations.md); the message names
    # the key id and nothing of the contact (S10). The page says only that it cannot open.
    import logging

    logging.getLogger("outreach.web").critical("%s (on %s)", exc, request.path)
    if request.path.startswith("/api/"):
        return {"error": "contact data cannot be opened", "fields": {}}, 503
    title = gettext("Contact data cannot be opened")
    message = gettext("The service cannot open contact records right now. Tell your administrator.")
    return render_template("error.html", code=503, title=title, message=message), 503


def _unexpected_error(exc: Exception) -> Any:
    # The page says nothing about what failed: exception text may hold data (S10).
    import logging

    logging.getLogger("outreach.web").error("unhandled %s on %s", type(exc).__name__, request.path)
    if request.path.startswith("/api/"):
        return {"error": "internal error", "fields": {}}, 500
    return render_template("error.html", code=500, title=gettext("Something went wrong")), 500
