"""`outreach outbox`: what the console or simulator channel sent, read back for the demo and
for tests (a Twilio deployment has no outbox: Twilio holds what it sent)."""

from __future__ import annotations

import click

from outreach.cli.service_calls import current_runtime


@click.command("outbox")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def outbox_command(as_json: bool) -> None:
    """Show what the console/simulator channel sent, oldest first (refused with twilio)."""
    import json

    from outreach.services.delivery.outbox import read_outbox

    rt = current_runtime()
    if rt.settings.channel == "twilio":
        raise click.ClickException("the outbox exists only for the console and simulator")
    with rt.session() as session:
        entries = read_outbox(session, rt.vault, now=rt.clock.now())
    if as_json:
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    for entry in entries:
        click.echo(
            f"{entry['at']}  {entry['channel']:<5} {entry['kind']:<15} "
            f"task {entry['task_id'][:8]}  {entry['script']}"
        )
        click.echo(f"    {entry['text']}")
