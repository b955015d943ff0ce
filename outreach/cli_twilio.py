"""`outreach twilio-check`: the pre-flight check an operator runs on a real Twilio account."""

from __future__ import annotations

import click
from flask import current_app

from outreach.channels import twilio_account
from outreach.runtime import runtime

# The Advanced Opt-Out lists the product counts on (services/inbound.py): set by hand in the
# Messaging Service, since Twilio's REST API does not show them (docs/operations.md).
BY_HAND = """\
Set by hand in the Messaging Service's Advanced Opt-Out (Twilio shows it to no API):
  opt-out words: STOP STOPALL UNSUBSCRIBE CANCEL END QUIT REVOKE OPTOUT
                 PARAR ALTO DETENER CANCELAR BAJA FIN PARA
  opt-in words:  START UNSTOP COMENZAR INICIAR   (remove YES: it is no opt-in here)
  help words:    HELP INFO AYUDA
  replies: the English and Spanish texts of scripts_text/*/sms/stop_confirmation.txt,
           start_confirmation.txt and help.txt ({liaison_first_name}: the sender's first
           name, OUTREACH_SENDER_FIRST_NAME)"""


@click.command("twilio-check")
def twilio_check_command() -> None:
    """Check a Twilio account before it carries a single call (changes nothing on it).

    Checks, each as one line, ok or FAIL: the credentials; that the neutral number is on the
    account and takes calls and texts; that its voice URL and fallback point at this
    deployment's /webhooks/twilio/voice/incoming and /voice/fallback; that the Messaging
    Service (OUTREACH_MESSAGING_SERVICE_SID) sends from the neutral number alone and posts its
    inbound texts to /sms/inbound with /sms/fallback. Then it prints what must be set by hand
    in Advanced Opt-Out. Exits 1 if any check failed, 2 without Twilio credentials.
    """
    rt = runtime(current_app)
    sid, token = rt.settings.secrets.twilio_account_sid, rt.settings.secrets.twilio_auth_token
    if not (sid and token):
        click.echo("twilio-check needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN", err=True)
        raise SystemExit(2)
    from outreach.channels.twilio import make_client

    checks = twilio_account.check_account(make_client(sid, token), rt.settings)
    for check in checks:
        click.echo(check.line())
    click.echo("")
    click.echo(BY_HAND)
    if not all(check.ok for check in checks):
        raise SystemExit(1)
