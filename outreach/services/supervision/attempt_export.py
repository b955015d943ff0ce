"""The attempt log's CSV export: streamed in short reads, each cell made safe to open in a
spreadsheet (S7).

Contacts appear only by their opaque reference, as on the log's page.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session, sessionmaker

from outreach.models import Attempt
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.supervision.review import (
    LogFilter,
    LogRow,
    log_query,
    log_row,
    require_review,
    reviewed_programs,
)

CSV_COLUMNS = (
    "attempt",
    "at_utc",
    "program",
    "contact_reference",
    "task",
    "reason",
    "channel",
    "outcome",
    "liaison",
    "session_date",
    "corrects",
    "entered_at_utc",
    "entered_by",
    "entered_via",
    "flags",
    "flag_reason",
)


def export_csv(
    session: Session,
    sessions: sessionmaker[Session],
    *,
    actor: Actor,
    filters: LogFilter,
    now: datetime,
) -> Iterator[str]:
    """Check and audit the export at once; answer its CSV lines, read as they are sent.

    The lines are read `EXPORT_CHUNK` rows at a time, each chunk in a short transaction of its
    own that ends before the chunk is sent. A download of any length, or one the supervisor
    breaks off, so never holds a transaction open while the network is slow: on SQLite that
    transaction would hold the one write lock, and every webhook behind it, a texted STOP
    included, would wait and fail (S2; issue 21 finding 1).
    """
    require_review(session, actor, filters, now)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.ATTEMPTS_EXPORTED,
        object_type="attempt_log",
        program_id=filters.program_id,
        **filters.describe(),
    )
    session.commit()
    return _export_lines(sessions, log_query(filters, reviewed_programs(actor)))


EXPORT_CHUNK = 500


def _export_lines(sessions: sessionmaker[Session], query: Select[Any]) -> Iterator[str]:
    yield _csv_line(CSV_COLUMNS)
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        chunk = _export_chunk(sessions, query, after)
        for row in chunk:
            yield _csv_line(_csv_values(row))
        if len(chunk) < EXPORT_CHUNK:
            return
        after = (chunk[-1].at, chunk[-1].attempt_id)


def _export_chunk(
    sessions: sessionmaker[Session], query: Select[Any], after: tuple[datetime, uuid.UUID] | None
) -> list[LogRow]:
    """The next rows after `after` in the log's order (newest first), in a transaction that
    ends here: keyset paging, so rows are neither skipped nor repeated between chunks."""
    if after is not None:
        at, attempt_id = after
        query = query.where(or_(Attempt.at < at, and_(Attempt.at == at, Attempt.id > attempt_id)))
    with sessions() as reading:
        return [log_row(row) for row in reading.execute(query.limit(EXPORT_CHUNK))]


def _csv_values(row: LogRow) -> tuple[str, ...]:
    return (
        str(row.attempt_id),
        row.at.astimezone(UTC).isoformat(),
        row.program,
        row.reference,
        str(row.task_id),
        row.reason,
        row.channel,
        row.outcome,
        row.liaison,
        row.session_date.isoformat() if row.session_date else "",
        str(row.corrects_id or ""),
        row.entered_at.astimezone(UTC).isoformat(),
        row.entered_by,
        row.entered_via,
        " ".join(row.flags),
        row.flag_reason or "",
    )


# A spreadsheet reads a cell starting with one of these as a formula (or, for tab and carriage
# return, strips them and reads what follows as one): OWASP's CSV injection list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: str) -> str:
    """The value as a cell no spreadsheet runs: a quote before a formula start; "" stays empty."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_line(values: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([spreadsheet_cell(v) for v in values])
    return out.getvalue()
