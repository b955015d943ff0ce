"""`outreach on-call ...`: who a program's duty to warn rings, and its response target (S8)."""

from __future__ import annotations

import sys

import click

from outreach.cli.service_calls import call, current_runtime
from outreach.services.records.audit import SYSTEM
from outreach.services.supervision import on_call


@click.group("on-call")
def on_call_group() -> None:
    """The on-call supervisor a duty to warn notifies, and the response it is held to (S8)."""


@on_call_group.command("show")
def show_command() -> None:
    """Print each program's on-call supervisor, whether their phone is on file, and the target."""
    for found in call(lambda s, now: on_call.settings_of(s, actor=SYSTEM, now=now)):
        who = found.on_call
        named = "nobody" if who is None else who.username
        phone = "" if who is None else (" (phone on file)" if who.has_phone else " (NO phone)")
        minutes = found.target_minutes
        click.echo(f"{found.program.key}: on call {named}{phone}; target {minutes} min")


@on_call_group.command("set")
@click.argument("program")
@click.argument("username", required=False)
def set_command(program: str, username: str | None) -> None:
    """Name USERNAME (a supervisor of PROGRAM) on call; without USERNAME, nobody is."""
    call(
        lambda s, now: on_call.set_on_call(
            s, program_key=program, username=username, now=now, actor=SYSTEM
        )
    )
    click.echo(f"{program}: on call {username or 'nobody'}")


@on_call_group.command("target")
@click.argument("program")
@click.argument("minutes", type=int)
def target_command(program: str, minutes: int) -> None:
    """Set the minutes a duty to warn in PROGRAM may wait for its first attempt."""
    call(
        lambda s, now: on_call.set_target(
            s, program_key=program, minutes=minutes, now=now, actor=SYSTEM
        )
    )
    click.echo(f"{program}: duty-to-warn target {minutes} min")


@on_call_group.command("phone")
@click.argument("username")
def phone_command(username: str) -> None:
    """Keep USERNAME's own phone, sealed; read from standard input (or asked for, hidden)."""
    if sys.stdin.isatty():
        number: str = click.prompt("Phone", hide_input=True)
    else:
        number = sys.stdin.readline().strip()
    rt = current_runtime()
    call(
        lambda s, now: on_call.set_phone_of(
            s, rt.vault, username=username, phone=number, now=now, actor=SYSTEM
        )
    )
    click.echo(f"phone of {username} saved (sealed)")
