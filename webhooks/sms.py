"""SMS callbacks: delivery status and inbound messages (S2)."""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.messaging_response import MessagingResponse

from outreach.domain import scripts
from outreach.services import callbacks, inbound
from webhooks import bp
from webhooks.common import code, db, form, now, outward, twiml


@bp.post("/sms/status")
def sms_status() -> Response:
    delivery = callbacks.delivery_by_code(db(), code())
    key = f"sms:{form('MessageSid')}:{form('MessageStatus')}:{form('ErrorCode')}"
    if delivery is not None and callbacks.remember(db(), "sms-status", key, request.form, now()):
        callbacks.sms_status(db(), delivery, form("MessageStatus"), form("ErrorCode"), now())
    db().commit()
    return twiml(MessagingResponse())


@bp.post("/sms/inbound")
def sms_inbound() -> Response:
    """STOP, START, HELP, safe-check replies, or free text kept sealed for the liaison."""
    sid = form("MessageSid")
    response = MessagingResponse()
    if not callbacks.remember(db(), "sms-inbound", f"inbound:{sid}", request.form, now()):
        return twiml(response)  # a retry: it was handled the first time
    answered = inbound.handle(
        db(),
        outward().vault,
        sender=request.form.get("From", "")[:40],
        body=request.form.get("Body", "")[:1600],
        sid=sid,
        now=now(),
    )
    if answered.reply is not inbound.Reply.NONE:
        values = {"liaison_first_name": outward().settings.sender_first_name}
        response.message(
            scripts.render(
                outward().library, "sms", answered.reply.value, answered.language, values
            )
        )
    db().commit()
    return twiml(response)
