"""SMS callbacks: delivery status and inbound messages (S2)."""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.messaging_response import MessagingResponse

from outreach.channels.base import Callbacks
from outreach.domain import scripts
from outreach.services import callbacks, inbound, inbox
from webhooks import bp
from webhooks.common import code, db, form, now, outward, stored, twiml

EMPTY = str(MessagingResponse())


@bp.post("/sms/status")
def sms_status() -> Response:
    """A sent SMS's progress: stored for the inbox applier, except a carrier opt-out."""
    key = f"sms:{form('MessageSid')}:{form('MessageStatus')}:{form('ErrorCode')}"
    if stored("sms-status", key) and callbacks.carrier_opted_out(form("ErrorCode")):
        # S2: a STOP the carrier saw ends SMS at once, not at the applier's next run.
        inbox.delivery_caught_up(db(), code(), now())
        db().commit()
    return twiml(EMPTY)


@bp.post("/sms/inbound")
def sms_inbound() -> Response:
    """STOP, START, HELP, safe-check replies, or free text kept sealed for the liaison."""
    sid = form("MessageSid")
    response = MessagingResponse()
    if not inbox.remember(db(), "sms-inbound", f"inbound:{sid}", request.form, now()):
        return twiml(response)  # a retry: it was handled the first time
    answered = inbound.handle(
        db(),
        outward().vault,
        sender=request.form.get("From", "")[:40],
        body=request.form.get("Body", "")[:1600],
        sid=sid,
        now=now(),
        opt_out_type=form("OptOutType"),
    )
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
    db().commit()
    return twiml(response)


@bp.post("/sms/reply-status")
def sms_reply_status() -> Response:
    """The status of our reply to an inbound text: its SID is kept with her record, so the
    provider's copy is erased when retention ends (S10)."""
    inbound.reply_sent(db(), code=code(), sid=form("MessageSid"))
    return twiml(EMPTY)
