"""The one error a bad setting raises: its message names the setting in one line, never shows a
secret, and the `outreach` command exits with status 2 on it."""

from __future__ import annotations

import click


class SettingsError(click.ClickException):
    """A setting is missing or malformed; the message is one line and safe to print."""

    exit_code = 2
