"""`outreach purge [--dry-run] [--program KEY]`: delete what retention says must go (S10)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import click
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from outreach.cli.service_calls import current_runtime, fail
from outreach.runtime import Runtime
from outreach.services.delivery import provider_records
from outreach.services.errors import NotFound, ServiceError
from outreach.services.records import purge, retention

# PostgreSQL's "insufficient privilege": the role is not the tables' owner.
NOT_OWNER = "42501"


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count the records that are due; delete nothing.")
@click.option("--program", "program_key", metavar="KEY", help="Only this program (its key).")
def purge_command(dry_run: bool, program_key: str | None) -> None:
    """Delete the contact records whose retention period has run out (S10).

    A record is due when none of its tasks is open (nor an "unreachable" closure awaiting
    sign-off) and nothing has happened on it for the years its program's protocol profile
    keeps records (retention_years): no change to the contact or its preferences, no task,
    attempt or message, and no event about the participant.

    Each contact goes in its own transaction: first its data key (crypto-shredding: whatever
    it sealed can never be opened again), then every row of its record, blind index
    included. One audit event names it by opaque id. A stopped run is finished by running
    it again.

    Then the provider (Twilio) is asked to delete its own records of the purged contacts'
    calls and texts: their numbers, and the texts' bodies. A record it refuses stays queued
    and is tried again at the next run.

    SQLite: the write-ahead log is emptied afterwards. PostgreSQL: run it with the tables'
    owner URL, then VACUUM (docs/security/retention.md).

    Exit status: 0 done or nothing due; 1 stopped or refused, or a provider record not yet
    erased; 2 bad option.
    """
    rt = current_runtime()
    now = rt.clock.now()
    with rt.session() as session:
        try:
            due = retention.find_due(session, rt.profiles, now=now, program_key=program_key)
        except NotFound as exc:
            raise click.BadParameter(exc.message, param_hint="--program") from None
        except ServiceError as exc:
            fail(exc)
        _print_due(due, now)
        if dry_run:
            click.echo(f"  {provider_records.waiting(session)} provider record(s) to erase")
            click.echo("dry run: nothing was deleted")
            return
        _print_purged(_purge(session, due, now))
        refused = _erase_at_provider(session, rt, now)
    _clear_files(rt)
    if refused:
        raise click.ClickException(
            f"{refused} provider record(s) not erased yet: run `outreach purge` again "
            "once the provider accepts"
        )


def _print_due(due: retention.DueRecords, now: datetime) -> None:
    click.echo(f"retention as of {now:%Y-%m-%d %H:%M} UTC:")
    for rule, ids in due.programs:
        click.echo(
            f"  {rule.program_key:<20} kept {rule.years} year(s)  {len(ids)} contact record(s) "
            f"due (last activity on or before {rule.cutoff:%Y-%m-%d %H:%M})"
        )


def _purge(session: Session, due: retention.DueRecords, now: datetime) -> list[purge.Purged | None]:
    done: list[purge.Purged | None] = []
    with click.progressbar(length=due.total, label="purging contact records") as bar:
        try:
            for result in purge.purge_due(session, due, now=now):
                done.append(result)
                bar.update(1)
        except DBAPIError as exc:
            session.rollback()
            raise click.ClickException(_refusal(exc, len(done), due.total)) from None
    return done


def _refusal(exc: DBAPIError, done: int, total: int) -> str:
    # Never the driver's message: it can quote the statement and its parameters.
    why = (
        "only the tables' owner may remove attempt log rows: run the purge with the owner's "
        "database URL, as for `outreach init`"
        if getattr(exc.orig, "sqlstate", None) == NOT_OWNER
        else f"the database refused ({type(exc.orig).__name__})"
    )
    return f"stopped after {done} of {total} contact record(s): {why}; run it again to finish"


def _print_purged(results: list[purge.Purged | None]) -> None:
    purged = [r for r in results if r is not None]
    kept = len(results) - len(purged)
    click.echo(
        f"purged {len(purged)} contact record(s): {sum(p.tasks for p in purged)} task(s), "
        f"{sum(p.attempts for p in purged)} attempt(s), {sum(p.rows for p in purged)} row(s) "
        "in all, each audited"
    )
    if kept:
        click.echo(f"kept {kept} that became active again since they were counted")


def _erase_at_provider(session: Session, rt: Runtime, now: datetime) -> int:
    """Work the queue of provider records; answer how many the provider refused."""
    channel = rt.channel
    total = provider_records.waiting(session)
    if channel is None or total == 0:
        return total
    erased, reasons = 0, Counter[str]()
    with click.progressbar(length=total, label=f"erasing records at {channel.name}") as bar:
        for erasure in provider_records.erase_waiting(session, channel, now=now):
            if erasure.refusal is None:
                erased += 1
            else:
                reasons[erasure.refusal] += 1
            bar.update(1)
    refused = sum(reasons.values())
    provider_records.record_run(session, channel.name, erased, refused, now)
    click.echo(f"{channel.name}: {erased} record(s) of calls and texts erased")
    for reason, count in reasons.most_common():
        click.echo(f"  {count} not erased: {reason}")
    return refused


def _clear_files(rt: Runtime) -> None:
    if not purge.clear_old_pages(rt.engine):
        raise click.ClickException(
            "the write-ahead log still holds old pages (another process is reading): "
            "run `outreach purge` again when the application is idle"
        )
    if rt.engine.dialect.name == "sqlite":
        click.echo("database file: deleted rows zeroed, write-ahead log emptied")
    else:
        click.echo("PostgreSQL: run VACUUM so the deleted rows leave the data files")
