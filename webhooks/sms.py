"""SMS callbacks: delivery status and inbound messages (S2)."""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.messaging_response import MessagingResponse

from outreach.channels.base import Callbacks
from outreach.domain import scripts
from outreach.services.delivery import callbacks, inbound, inbox
from webhooks import bp
from webhooks.common import code, db, form, now, outward, stored, twiml

EMPTY = str(MessagingResponse())


@bp.post("/sms/status")
def sms_status() -> Response:
    """A sent SMS's progress: stored for the inbox applier, except a carrier opt-out."""
    key = f"sms:{form('MessageSid')}:{form('MessageStatus')}:{form('ErrorCode')}"
    if stored("sms-status", key) and callbacks.carrier_opted_out(form("ErrorCode")):
        # S2: a STOP the carrier saw ends SMS at once, not at the applier's next run.
        inbox.catch_up_at_once(db(), code(), now())
    return twiml(EMPTY)


@bp.post("/sms/inbound")
def sms_inbound() -> Response:
    """STOP, START, HELP, safe-check replies, or free text kept sealed for the liaison."""
    response = MessagingResponse()
    answered = inbound.receive(db(), outward().vault, request.form, now())
    if answered is None:
        return twiml(response)  # a retry: it was handled the first time
    if answered.reply is not inbound.Reply.NONE:
        values = {"liaison_first_name": outward().settings.sender_first_name}
        # Its status callback names its SID, kept for retention (issue 24 item 5).
        links = Callbacks(outward().settings.public_url, answered.reply_code)
        response.message(
            scripts.render(
                outward().library, "sms", answered.reply.value, answered.language, values
            ),
            action=links.url("sms/reply-status"),
        )
    return twiml(response)


@bp.post("/sms/reply-status")
def sms_reply_status() -> Response:
    """The status of our reply to an inbound text: its SID is kept with her record, so the
    provider's copy is erased when retention ends (S10)."""
    inbound.reply_sent(db(), code=code(), sid=form("MessageSid"))
    return twiml(EMPTY)
