"""Twilio webhooks: a blueprint of its own, every route behind one signature check.

Handlers stay thin: verify (here, for every route), store the callback once, call one
service, answer TwiML built with the SDK as text/xml. They answer in milliseconds: the only
provider call allowed in a handler is the hang-up of a machine-answered call. Status
callbacks are only stored, in one statement; the inbox applier applies them
(outreach/services/delivery/inbox.py).
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, g, request
from flask.sessions import SecureCookieSession
from flask.wrappers import Request

from outreach.logs import security_event
from outreach.runtime import runtime
from outreach.web import SessionCookies
from webhooks.signature import signature_is_valid

PREFIX = "/webhooks/twilio/"
bp = Blueprint("webhooks", __name__, url_prefix=PREFIX.rstrip("/"))


# Twilio asks these when the primary URL failed; they must answer even when the signature
# does not match (a wrong OUTREACH_PUBLIC_URL is one reason the primary failed): the answer
# ends the call or says nothing, and an unsigned request changes nothing (webhooks/fallback.py).
FALLBACKS = frozenset({PREFIX + "voice/fallback", PREFIX + "sms/fallback"})


@bp.before_request
def _verify_signature() -> None:
    """A missing or wrong signature answers 403 and changes nothing."""
    settings = runtime().settings
    g.signed = signature_is_valid(settings.webhook_token, settings.public_url, request)
    if not g.signed:
        security_event("webhook.signature_refused", path=request.path)
        if request.path not in FALLBACKS:
            abort(403)


class _NoCookieForWebhooks(SessionCookies):
    """Twilio sends no cookie and is sent none: webhook requests skip the signed-cookie session
    (and building its serializer) that staff pages need."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(PREFIX):
            return None  # Flask gives the request a null session, which never sets a cookie
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    from webhooks import fallback, sms, voice  # noqa: F401 - importing registers the routes

    app.register_blueprint(bp)
    app.session_interface = _NoCookieForWebhooks()
