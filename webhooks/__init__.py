"""Twilio webhooks: a blueprint of its own, every route behind one signature check.

Handlers stay thin: verify (here, for every route), store the callback once, call one
service, answer TwiML built with the SDK as text/xml. They answer in milliseconds: the only
provider call allowed in a handler is the hang-up of a machine-answered call.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, request

from outreach.runtime import runtime
from webhooks.signature import signature_is_valid

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks/twilio")


@bp.before_request
def _verify_signature() -> None:
    """A missing or wrong signature answers 403 and changes nothing."""
    settings = runtime().settings
    if not signature_is_valid(settings.webhook_token, settings.public_url, request):
        abort(403)


def init_app(app: Flask) -> None:
    from webhooks import sms, voice  # noqa: F401 - importing registers the routes

    app.register_blueprint(bp)
