"""The demo on one machine: `outreach demo` seeds synthetic, fictional people and serves the app
with the scheduler beside it; `outreach serve` serves it alone (never in production)."""

from __future__ import annotations

import click
from flask import current_app

from outreach.cli.service_calls import current_runtime
from outreach.services.demo_data import demo as demo_seed
from outreach.services.demo_data import demo_callable, demo_practice


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Set up and seed, then exit.")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Set up an SQLite database with synthetic demo data and serve the app."""
    from outreach.db import migrate

    rt = current_runtime()
    if rt.settings.is_production:
        raise click.ClickException("the demo never runs in production")
    migrate(rt.engine)
    hours = (rt.settings.calling_start, rt.settings.calling_end)
    with rt.session() as session:
        if demo_seed.already_seeded(session):
            click.echo("demo data already present")
        else:
            click.echo("seeding demo data (synthetic, fictional people) ...")
            demo_seed.seed(session, rt.vault, rt.profiles, now=rt.clock.now(), calling_hours=hours)
        callable_now = demo_callable.callable_reference(session, rt.clock.now(), hours)
        practice = demo_practice.banner(session)
    _print_logins()
    click.echo("Cases to look at (each program's practice):")
    for line in practice:
        click.echo(f"  {line}")
    click.echo("")
    if callable_now:
        # Issue 22 item 7: one contact named a safe time that is now, where it is calling hours.
        click.echo(
            f"To place a simulated call now: sign in as sam.rivera, open {callable_now} in the "
            "call queue (its contact named a safe time from this hour, in her own time zone, "
            "inside calling hours), claim it and press Call.\n"
        )
    if not no_serve:
        from outreach.scheduler.runner import build

        # One process for the demo: the scheduler ticks beside the web app.
        build(current_runtime(), background=True).start()
        _serve(host, port)


def _print_logins() -> None:
    click.echo("\nDemo logins (demo only; never use these anywhere else):")
    for login in demo_seed.LOGINS:
        programs = ", ".join(login.programs)
        click.echo(f"  {login.username:<12} {login.password:<26} {login.role:<12} {programs}")
    click.echo("")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def serve_command(host: str, port: int) -> None:
    """Serve the web app (development and demo; production runs under gunicorn)."""
    if current_runtime().settings.is_production:
        raise click.ClickException(
            "in production run: gunicorn 'outreach:create_app()' (this server is for demos)"
        )
    _serve(host, port)


def _serve(host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    click.echo(f"outreach is serving on http://{host}:{port}  (Ctrl-C stops it)")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_simple(host, port, app, threaded=True, use_reloader=False)
