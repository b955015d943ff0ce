"""`outreach backup copy FILE` and `outreach backup check`: the backup and restore drill."""

from __future__ import annotations

from pathlib import Path

import click

from outreach.cli.service_calls import current_runtime, fail
from outreach.security.crypto import SealError
from outreach.services.errors import ServiceError
from outreach.services.records import backup


@click.group("backup")
def backup_group() -> None:
    """Back up the database; check that a restored copy opens with the keys kept beside it.

    The drill, in docs/operations.md: copy (SQLite) or pg_dump (PostgreSQL), restore into a
    new database, point OUTREACH_DATABASE_URL at it with the kept keys, run `backup check`.
    """


@backup_group.command("copy")
@click.argument("target", type=click.Path(path_type=Path))
def backup_copy(target: Path) -> None:
    """Copy the live SQLite database to TARGET, a new file readable by its owner alone (a
    folder as TARGET: a file in it named by the UTC time, outreach-20261117T200000Z.db).

    SQLite's online backup takes one consistent snapshot while the web workers and the
    scheduler go on writing. The copy holds contact data sealed: keep OUTREACH_DATA_KEYS,
    OUTREACH_INDEX_KEYS (or OUTREACH_INDEX_KEY) and OUTREACH_AUDIT_KEY apart from it, in
    the secret store, for as long as the copy is kept. PostgreSQL: use pg_dump.
    """
    rt = current_runtime()
    try:
        written = backup.copy_sqlite(rt.engine, target, now=rt.clock.now())
    except ServiceError as exc:
        fail(exc)
    click.echo(f"backed up to {written}; keep the keys apart from it, in the secret store")


@backup_group.command("check")
def backup_check() -> None:
    """Open every contact, phone index and staff secret with the configured keys alone.

    Run it against a restored database with only the keys kept for that backup. Prints counts,
    never a value, and writes one system.backup_checked audit event. Exit status 1 names the
    key that is missing ("contact data cannot be opened: data key k2 missing").
    """
    rt = current_runtime()
    with rt.session() as session:
        try:
            opened = backup.open_everything(session, rt.vault, now=rt.clock.now())
        except SealError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(opened.line())
