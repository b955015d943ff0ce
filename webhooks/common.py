"""What every handler shares: the session, the clock, the opaque code, storing a callback."""

from __future__ import annotations

from datetime import datetime

from flask import Response, g, request
from sqlalchemy.orm import Session

from outreach.runtime import runtime
from outreach.services.delivery import inbox
from outreach.services.delivery.outward import Outward


def db() -> Session:
    if "db" not in g:
        g.db = runtime().sessions()
    session: Session = g.db
    return session


def now() -> datetime:
    return runtime().clock.now()


def outward() -> Outward:
    return runtime().outward()


def code() -> str:
    return request.args.get("c", "")


def form(name: str) -> str:
    return request.form.get(name, "")[:64]


def twiml(body: object) -> Response:
    return Response(str(body), mimetype="text/xml")


def stored(route: str, key: str, **ours: str) -> bool:
    """Store a status callback for the inbox applier; False for a duplicate or unknown code."""
    fields = inbox.kept(request.form, **ours)
    return inbox.store(runtime().bind, code=code(), route=route, key=key, fields=fields, now=now())


# A voice named for each language: <Say>'s default voice is "man", and "using an invalid
# combination of voice and language may result in error and <Say> instruction failure"
# (twilio.com/docs/voice/twiml/say). Amazon Polly's standard US voices speak each locale.
VOICES = {"en": ("en-US", "Polly.Joanna"), "es": ("es-US", "Polly.Lupe")}


def say_language(language: str) -> str:
    return VOICES.get(language, VOICES["en"])[0]


def say_voice(language: str) -> str:
    return VOICES.get(language, VOICES["en"])[1]
