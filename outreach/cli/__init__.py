"""The `outreach` command (also `flask --app outreach`): parse, call one service, print."""

# One module per command group, each parsing its input and calling one service:
# setup (init, lint-scripts), demo (demo, serve), users (accounts and API tokens),
# scheduler (plan, tick, scheduler), outbox, audit, keys, backup, csv_import, purge,
# on_call and twilio_check; service_calls holds what they share.

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from outreach.cli.audit import audit_group
from outreach.cli.backup import backup_group
from outreach.cli.csv_import import import_command
from outreach.cli.demo import demo_command, serve_command
from outreach.cli.keys import keys_group
from outreach.cli.on_call import on_call_group
from outreach.cli.outbox import outbox_command
from outreach.cli.purge import purge_command
from outreach.cli.scheduler import plan_command, scheduler_command, tick_command
from outreach.cli.setup import init_command, lint_scripts_command
from outreach.cli.twilio_check import twilio_check_command
from outreach.cli.users import users_group
from outreach.settings import load_settings
from outreach.settings_error import SettingsError

COMMANDS = (
    init_command,
    demo_command,
    serve_command,
    users_group,
    audit_group,
    keys_group,
    lint_scripts_command,
    plan_command,
    outbox_command,
    tick_command,
    scheduler_command,
    import_command,
    purge_command,
    backup_group,
    twilio_check_command,
    on_call_group,
)


def register(app: Flask) -> None:
    """Add every command of the `outreach` program to the app's command line."""
    for command in COMMANDS:
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the `outreach` console script."""
    try:
        load_settings()  # a bad setting is one clear line, before anything else runs
    except SettingsError as exc:
        click.echo(f"outreach: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    from outreach import create_app

    group = FlaskGroup(
        name="outreach",
        create_app=lambda: create_app(),
        load_dotenv=False,
        set_debug_flag=False,
        help=__doc__,
    )
    group.main(prog_name="outreach")
