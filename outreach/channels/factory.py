"""Pick the channel OUTREACH_CHANNEL names; production settings already refuse the stand-ins."""

from __future__ import annotations

from flask import Flask

from outreach.channels.base import Channel
from outreach.channels.console import ConsoleChannel
from outreach.channels.pacing import Pacer
from outreach.channels.simulator import Poster, SimulatorChannel
from outreach.channels.simulator_scenarios import RandomScenario
from outreach.settings import Settings


def build_channel(app: Flask, settings: Settings) -> Channel:
    pacer = Pacer(settings.sms_rate_per_second)
    if settings.channel == "twilio":
        from outreach.channels.twilio import TwilioChannel, make_client

        sid, token = settings.secrets.twilio_account_sid, settings.secrets.twilio_auth_token
        if not (sid and token):
            from outreach.settings_error import SettingsError

            raise SettingsError("the twilio channel needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        return TwilioChannel(
            make_client(sid, token), pacer, messaging_service_sid=settings.messaging_service_sid
        )
    if settings.channel == "console":
        return ConsoleChannel(pacer)
    poster = Poster(app, settings.webhook_token, settings.public_url)
    return SimulatorChannel(poster, RandomScenario(), pacer, background=not app.testing)
