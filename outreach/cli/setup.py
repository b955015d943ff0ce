"""Setting a deployment up: `outreach init` brings the database to the newest schema, and
`outreach lint-scripts` checks (or approves) the texts the liaisons read and the contacts get."""

from __future__ import annotations

import click

from outreach.cli.service_calls import current_runtime


@click.command("init")
def init_command() -> None:
    """Create or migrate the database to the newest schema."""
    from outreach.db import migrate

    rt = current_runtime()
    migrate(rt.engine)
    click.echo(f"database ready ({rt.engine.url.render_as_string(hide_password=True)})")


@click.command("lint-scripts")
@click.option(
    "--approve",
    is_flag=True,
    help="Record the current texts as approved (refused while any rule fails).",
)
def lint_scripts_command(approve: bool) -> None:
    """Check every text in scripts_text/ against the safety rules (S2, S3, S9, S12), and that
    every protocol profile has the referral list its scripts name (config/referrals/)."""
    from outreach.domain.scripts import approve_library, default_root, lint_library
    from outreach.services.intake import referrals

    root = default_root()
    findings = [str(f) for f in (approve_library(root) if approve else lint_library(root))]
    # PRODUCT.md "Referrals are data": scripts name them, never invent them.
    findings += referrals.check_profiles()
    for finding in findings:
        click.echo(finding, err=True)
    if findings:
        raise click.ClickException(f"{len(findings)} finding(s); nothing is sent until fixed")
    click.echo("scripts approved" if approve else "all scripts pass the safety rules")
