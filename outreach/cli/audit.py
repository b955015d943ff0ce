"""`outreach audit verify`: walk the audit chain and name its first break (S10); a head kept
elsewhere also finds newest events cut off."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from outreach.cli.service_calls import current_runtime

if TYPE_CHECKING:
    from outreach.services.records.audit_chain import ChainHead


@click.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.option(
    "--head",
    "kept_head",
    metavar="SEQ:MAC",
    help="A head printed by an earlier run: also finds events cut off after it.",
)
def audit_verify(kept_head: str | None) -> None:
    """Walk the audit chain, recompute every MAC and report the first break (S10)."""
    from outreach.services.records.audit_chain import verify_chain

    rt = current_runtime()
    anchor = _kept_head(kept_head) if kept_head else None
    with rt.session() as session:
        report = verify_chain(session, rt.settings.secrets.audit_key, anchor=anchor)
    broken = report.first_break
    if broken is not None:
        click.echo(
            f"audit chain BROKEN at event {broken.seq}: {broken.kind} ({broken.why})", err=True
        )
        click.echo(f"{report.events} events verified before the break", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {report.events} events")
    if report.unchained:
        sealed = "the first chained event seals them"
        if report.unchained == report.events:
            sealed = "not sealed until the next event is written"
        click.echo(f"({report.unchained} from before the chain began; {sealed})")
    # The chain cannot see its own newest events cut off; a head kept elsewhere can (16.4.3).
    click.echo(f"head {report.head}  (keep it elsewhere; pass it as --head next time)")


def _kept_head(text: str) -> ChainHead:
    import re

    from outreach.services.records.audit_chain import ChainHead

    seq, sep, mac = text.partition(":")
    if not (sep and seq.isdigit() and re.fullmatch(r"[0-9a-fA-F]{64}", mac)):
        raise click.BadParameter("give the head as SEQ:MAC, as printed by audit verify")
    return ChainHead(int(seq), mac.lower())
