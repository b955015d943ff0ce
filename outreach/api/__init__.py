"""JSON API /api/v1 for program systems and staff tools: bearer tokens acting with a role."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from outreach.logs import request_refused, security_event
from outreach.models import User
from outreach.runtime import runtime
from outreach.services.errors import ServiceError
from outreach.services.records.audit import Actor
from outreach.services.staff.tokens import token_user

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    from outreach.api import (  # noqa: F401 - importing registers the routes
        contact_routes,
        openapi,
        program_routes,
        task_routes,
    )

    app.register_blueprint(bp)


def db() -> Session:
    if "db" not in g:
        g.db = runtime().sessions()
    session: Session = g.db
    return session


def now() -> datetime:
    return runtime().clock.now()


def actor() -> Actor:
    found: Actor = g.actor
    return found


@bp.before_request
def _authenticate() -> ResponseReturnValue | None:
    if request.endpoint == "api.openapi_document":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = _user_for(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        # One answer and one log line for unknown, revoked and expired tokens alike.
        security_event("api.token_refused", path=request.path, bearer=bool(token.strip()))
        response = jsonify(error="a valid bearer token is required")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response, 401
    g.actor = Actor.of(user)
    return None


def _user_for(token: str) -> User | None:
    return token_user(db(), token, now=now()) if token else None


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> ResponseReturnValue:
    request_refused(request.path, exc.status, type(exc).__name__, exc.fields)
    return jsonify(error=exc.message, fields=exc.fields), exc.status


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> ResponseReturnValue:
    """The API's answer to a refusal Werkzeug raised (also before routing: a 405)."""
    response = jsonify(error=exc.name, fields={})
    # RFC 9110 15.5.6: a 405 names the methods the resource has (Allow), kept from Werkzeug's
    # own answer; its HTML content type is not.
    response.headers.extend(
        (name, value) for name, value in exc.get_headers() if name.lower() != "content-type"
    )
    return response, exc.code or 500
