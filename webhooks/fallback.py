"""Fallback URLs: what Twilio asks when the primary URL failed (S3).

Without one, a caller whose TwiML could not be fetched (a 403 from a wrong public URL, a 500,
a timeout) hears Twilio's own spoken error message, on her phone. Twilio "submits the
ErrorCode and ErrorUrl parameters" to the fallback (twilio.com/docs/usage/security/
availability-reliability): the answer here ends the call in silence, or says nothing to a
text, and needs no database, so it works in the very failure that brought Twilio here. The
failure is logged for the operator, and audited when the database answers.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Response, g
from sqlalchemy.exc import SQLAlchemyError
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from outreach.services.delivery import provider_failures
from webhooks import bp
from webhooks.common import db, form, now, twiml

log = logging.getLogger("outreach.webhooks")


@bp.post("/voice/fallback")
def voice_fallback() -> Response:
    """Hang up in silence: no default error message reaches her or the liaison."""
    _note_failure("voice")
    response = VoiceResponse()
    response.hangup()
    return twiml(response)


@bp.post("/sms/fallback")
def sms_fallback() -> Response:
    """Say nothing back: a text she sent is never answered by an error."""
    _note_failure("sms")
    return twiml(MessagingResponse())


def _note_failure(channel: str) -> None:
    error_code = form("ErrorCode")[:10]
    # Only the path of the failing URL: its query holds a delivery's code.
    failed = urlsplit(form("ErrorUrl")).path[:120]
    signed = bool(g.get("signed"))
    log.error(
        "provider fallback channel=%s error_code=%s failed=%s signed=%s",
        channel,
        error_code or "-",
        failed or "-",
        signed,
    )
    if not signed:
        return  # an unsigned request is answered, and changes nothing
    try:
        provider_failures.record_fallback(
            db(), channel=channel, error_code=error_code, failed_path=failed, now=now()
        )
    except SQLAlchemyError as exc:
        # The database being down may be why Twilio came here: the answer never waits on it.
        log.error("provider fallback not audited: %s", type(exc).__name__)
