"""Server-rendered pages: login now; the liaison, supervisor and facilitator pages build on it."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, Response, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from outreach.runtime import runtime

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    from outreach.web import auth, health

    hops = runtime(app).settings.proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.register_blueprint(auth.bp)
    app.register_blueprint(health.bp)
    app.teardown_appcontext(_close_db)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.globals["csrf_token"] = csrf_token


def csrf_token() -> str:
    from flask import session

    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def check_csrf() -> bool:
    from flask import session

    sent = request.form.get("csrf_token", "")
    return bool(sent) and secrets.compare_digest(sent, str(session.get("csrf", "")))


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
        return {"error": exc.name, "fields": {}}, exc.code or 500
    return render_template("error.html", code=exc.code, title=exc.name), exc.code or 500


def _unexpected_error(exc: Exception) -> Any:
    # The page says nothing about what failed: exception text may hold data (S10).
    import logging

    logging.getLogger("outreach.web").error("unhandled %s on %s", type(exc).__name__, request.path)
    if request.path.startswith("/api/"):
        return {"error": "internal error", "fields": {}}, 500
    return render_template("error.html", code=500, title="Something went wrong"), 500
