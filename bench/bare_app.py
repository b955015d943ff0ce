"""The baseline for bench/webhooks: a bare Flask endpoint that answers empty TwiML."""

from __future__ import annotations

from flask import Flask, Response

app = Flask(__name__)


@app.post("/webhooks/twilio/voice/status")
@app.post("/webhooks/twilio/voice/amd")
def empty() -> Response:
    return Response("<Response/>", mimetype="text/xml")
