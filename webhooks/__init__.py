"""Twilio webhooks: a blueprint of its own, every route behind one signature check.

Handlers stay thin: verify (here, for every route), store the callback once, call one
service, answer TwiML built with the SDK as text/xml. They answer in milliseconds: the only
provider call allowed in a handler is the hang-up of a machine-answered call. Status
callbacks are only stored, in one statement; the inbox applier applies them
(outreach/services/inbox.py).
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, request
from flask.sessions import SecureCookieSession
from flask.wrappers import Request

from outreach.logs import security_event
from outreach.runtime import runtime
from outreach.web import SessionCookies
from webhooks.signature import signature_is_valid

PREFIX = "/webhooks/twilio/"
bp = Blueprint("webhooks", __name__, url_prefix=PREFIX.rstrip("/"))


@bp.before_request
def _verify_signature() -> None:
    """A missing or wrong signature answers 403 and changes nothing."""
    settings = runtime().settings
    if not signature_is_valid(settings.webhook_token, settings.public_url, request):
        security_event("webhook.signature_refused", path=request.path)
        abort(403)


class _NoCookieForWebhooks(SessionCookies):
    """Twilio sends no cookie and is sent none: webhook requests skip the signed-cookie session
    (and building its serializer) that staff pages need."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(PREFIX):
            return None  # Flask gives the request a null session, which never sets a cookie
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    from webhooks import sms, voice  # noqa: F401 - importing registers the routes

    app.register_blueprint(bp)
    app.session_interface = _NoCookieForWebhooks()
