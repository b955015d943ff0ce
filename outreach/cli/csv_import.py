"""`outreach import FILE.csv --kind groups|participants|contacts|attendance|cancellations`."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from outreach.cli.service_calls import current_runtime
from outreach.services.intake import imports

MAX_ROWS = 200_000


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(imports.KINDS), required=True, help="What the rows are.")
def import_command(file: Path, kind: str) -> None:
    """Import a CSV file: every bad row is reported by line, and nothing is half-written."""
    rows = _read(file, kind)
    rt = current_runtime()
    with click.progressbar(length=len(rows), label=f"checking and importing {kind}") as bar:
        result = imports.import_rows(
            rt.engine,
            rt.vault,
            audit_key=rt.settings.secrets.audit_key,
            kind=kind,
            rows=rows,
            now=rt.clock.now(),
            profiles=rt.profiles,
            progress=bar.update,
        )
    for error in result.errors:
        click.echo(error, err=True)
    if result.errors:
        raise click.ClickException(f"{len(result.errors)} bad row(s); nothing was imported")
    click.echo(f"imported {result.imported} {kind} row(s)")


def _read(file: Path, kind: str) -> list[tuple[int, dict[str, str]]]:
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = imports.missing_columns(kind, reader.fieldnames or ())
            if missing:
                raise click.ClickException(f"line 1: missing column(s): {', '.join(missing)}")
            rows = [(reader.line_num, _clean(row)) for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        message = f"the file is not a readable UTF-8 CSV ({type(exc).__name__})"
        raise click.ClickException(message) from None
    if len(rows) > MAX_ROWS:
        raise click.ClickException(f"at most {MAX_ROWS} rows per file; split it")
    return rows


def _clean(row: dict[str | None, str | list[str] | None]) -> dict[str, str]:
    return {k: v.strip() for k, v in row.items() if isinstance(k, str) and isinstance(v, str)}
