"""`outreach twilio-check`: the pre-flight check an operator runs on a real Twilio account."""

from __future__ import annotations

import click

from outreach.channels import twilio_account
from outreach.cli.service_calls import current_runtime
from outreach.domain import scripts
from outreach.domain.phones import normalize_phone
from outreach.services.delivery import inbox

# The Advanced Opt-Out lists the product counts on (services/delivery/inbound.py): set by hand in
# the
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
@click.option(
    "--call-me",
    "call_me",
    metavar="NUMBER",
    help="After the checks, place one test call to a phone you hold and report it.",
)
def twilio_check_command(call_me: str | None) -> None:
    """Check a Twilio account before it carries a single call (changes nothing on it).

    Checks, each as one line, ok or FAIL: the credentials; that the neutral number is on the
    account and takes calls and texts; that its voice URL and fallback point at this
    deployment's /webhooks/twilio/voice/incoming and /voice/fallback; that the Messaging
    Service (OUTREACH_MESSAGING_SERVICE_SID) sends from the neutral number alone and posts its
    inbound texts to /sms/inbound with /sms/fallback. Then it prints what must be set by hand
    in Advanced Opt-Out. Exits 1 if any check failed, 2 without Twilio credentials.

    With --call-me NUMBER (a phone you hold, any format), it then calls that phone from the
    neutral number: you hear "To take this call, press 1"; press 1. It prints each status as
    Twilio reports it and whether your key reached this deployment's webhook, signed, which
    proves OUTREACH_PUBLIC_URL and the auth token. No task or contact is involved.
    """
    rt = current_runtime()
    sid, token = rt.settings.secrets.twilio_account_sid, rt.settings.secrets.twilio_auth_token
    if not (sid and token):
        click.echo("twilio-check needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN", err=True)
        raise SystemExit(2)
    from outreach.channels.twilio import make_client

    client = make_client(sid, token)
    checks = twilio_account.check_account(client, rt.settings)
    for check in checks:
        click.echo(check.line())
    click.echo("")
    click.echo(BY_HAND)
    heard = _call_me(client, call_me) if call_me and all(c.ok for c in checks) else True
    if not (heard and all(check.ok for check in checks)):
        raise SystemExit(1)


def _call_me(client: object, raw: str) -> bool:
    """Place the test call; answer whether the operator's key reached our webhook."""
    rt = current_runtime()
    try:
        phone = normalize_phone(raw)
    except ValueError:
        raise click.BadParameter("not a phone number", param_hint="--call-me") from None
    prompt = scripts.render(rt.library, "voice", "screen_prompt", "en", {})
    click.echo("")
    sid = ""
    for kind, value in twilio_account.place_test_call(client, rt.settings, phone, prompt):
        if kind == "sid":
            sid = value
            click.echo(f"test call placed: {sid}")
        else:
            click.echo(f"  Twilio reports: {value}")
    with rt.session() as session:
        key = inbox.preflight_key(session, sid)
    if key is None:
        click.echo(
            "FAIL  your key never reached the webhook: check OUTREACH_PUBLIC_URL and the token"
        )
        return False
    click.echo(f"ok    the webhook heard your key ({key}), signed")
    return key == "1"
