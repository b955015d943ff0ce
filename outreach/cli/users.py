"""Staff accounts and their API tokens, for the operator at the server: `outreach users add`,
`token`, `tokens`, `reset-password`, `reset-second-factor`, `revoke-tokens` and `revoke-token`."""

from __future__ import annotations

import sys

import click

from outreach.cli.service_calls import call, current_runtime
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens as token_service
from outreach.services.staff import users as user_service
from outreach.settings import MAX_API_TOKEN_DAYS


@click.group("users")
def users_group() -> None:
    """Staff accounts and API tokens: create, recover, revoke."""


@users_group.command("add")
@click.argument("username")
@click.option(
    "--role", required=True, type=click.Choice(["liaison", "supervisor", "facilitator", "admin"])
)
@click.option("--program", "programs", multiple=True, help="Program key (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(username: str, role: str, programs: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user with a role, scoped to programs."""
    password = _read_password(password_stdin)
    call(
        lambda session, now: user_service.add_user(
            session,
            username=username,
            role=role,
            password=password,
            program_keys=programs,
            now=now,
            actor=SYSTEM,
        )
    )
    click.echo(f"user {username} created ({role})")


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        entered: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return entered
    return None  # an account for API tokens only: it cannot log in to the web pages


@users_group.command("token")
@click.argument("username")
@click.option(
    "--days",
    type=click.IntRange(1, MAX_API_TOKEN_DAYS),
    help="Days the token works (default: OUTREACH_API_TOKEN_DAYS, 90 unless set).",
)
def users_token(username: str, days: int | None) -> None:
    """Print a new API token for USERNAME, once; it acts with the user's role.

    The token alone goes to standard output, so a script can capture it; its expiry goes to
    standard error. Issue the next one before then: the old one stops on its own.
    """
    lifetime = current_runtime().settings.api_token_days if days is None else days
    issued = call(
        lambda session, now: token_service.issue_token(
            session,
            username=username,
            days=lifetime,
            now=now,
            actor=SYSTEM,
        )
    )
    click.echo(issued.token)
    click.echo(
        f"API token of {username} expires {issued.expires_at:%Y-%m-%d %H:%M} UTC ({lifetime} days)",
        err=True,
    )


@users_group.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def users_reset_password(username: str, password_stdin: bool) -> None:
    """Give USERNAME a new password, lift a lockout and end their web sessions.

    For a user who forgot their password or is locked out. The rules of `users add` apply.
    Their second factor and API tokens stay as they are (see reset-second-factor and
    revoke-tokens). Without --password-stdin the password is asked for twice.
    """
    password = _read_password(password_stdin)
    if password is None:
        raise click.UsageError("give the new password with --password-stdin or at a terminal")
    ended = call(
        lambda session, now: user_service.reset_password(
            session,
            username=username,
            password=password,
            now=now,
            actor=SYSTEM,
        )
    )
    click.echo(f"password of {username} reset; {ended} web session(s) ended")


@users_group.command("reset-second-factor")
@click.argument("username")
def users_reset_second_factor(username: str) -> None:
    """Remove USERNAME's second factor and end their web sessions.

    For a user who lost the phone with their authenticator app. Their next sign-in asks
    for the password only, then (in production) for a new second factor before anything
    else. Make sure who is asking before running it: until then the password alone signs in.
    """
    ended = call(
        lambda session, now: user_service.reset_second_factor(
            session, username=username, now=now, actor=SYSTEM
        )
    )
    click.echo(
        f"second factor of {username} removed; {ended} web session(s) ended; "
        "they set up a new one at their next sign-in"
    )


@users_group.command("revoke-tokens")
@click.argument("username")
@click.option(
    "--without-expiry",
    is_flag=True,
    help="Revoke only the tokens issued before tokens expired (an upgrade's old tokens).",
)
def users_revoke_tokens(username: str, without_expiry: bool) -> None:
    """Revoke every API token of USERNAME at once; the API refuses them from now on.

    For a program system that is retired or whose tokens all leaked (one leaked token
    alone: revoke-token). `users token` issues a new one afterwards. After an upgrade, issue
    the new token first, put it in place, then revoke with --without-expiry: the new token
    keeps working.
    """
    revoked = call(
        lambda session, now: token_service.revoke_tokens(
            session,
            username=username,
            now=now,
            only_without_expiry=without_expiry,
            actor=SYSTEM,
        )
    )
    click.echo(f"{revoked} API token(s) of {username} revoked")


@users_group.command("tokens")
@click.argument("username")
def users_tokens(username: str) -> None:
    """List USERNAME's API tokens, newest first: id, dates (UTC) and state.

    The id is the start of the token's record, not of the token: give it to revoke-token.
    """
    listed = call(
        lambda session, now: token_service.list_tokens(session, username=username, now=now)
    )
    if not listed:
        click.echo(f"no API tokens of {username}")
    for token in listed:
        click.echo(_token_line(token))


def _token_line(token: token_service.TokenSummary) -> str:
    expires = (
        "never (issued before expiry)"
        if token.expires_at is None
        else f"{token.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    used = "never" if token.last_used_at is None else f"{token.last_used_at:%Y-%m-%d %H:%M} UTC"
    return (
        f"{token.short_id}  issued {token.issued_at:%Y-%m-%d %H:%M} UTC  expires {expires}  "
        f"last used {used}  {token.state}"
    )


@users_group.command("revoke-token")
@click.argument("username")
@click.argument("token_id")
def users_revoke_token(username: str, token_id: str) -> None:
    """Revoke the one API token of USERNAME whose id starts with TOKEN_ID (8+ hex digits).

    For a leaked token while the user's other tokens keep working, e.g. during a change-over;
    `users tokens` lists the ids. The API refuses that token from now on.
    """
    revoked = call(
        lambda session, now: token_service.revoke_token(
            session,
            username=username,
            token_id=token_id,
            now=now,
            actor=SYSTEM,
        )
    )
    click.echo(f"API token {revoked.short_id} of {username} revoked")
