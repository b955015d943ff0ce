"""CSV import of groups, participants, contacts, attendance and cancelled classes: every row
checked, all or nothing.

Each row goes through the same service as the API, so it obeys the same rules. The whole file
runs in one outer transaction; each service's commit only releases a savepoint inside it, so a
bad row is undone on its own, every bad row is reported, and nothing is kept unless all are good.
Error messages name the line and the fields, never a value: a contact's row holds a name and a
number that must not reach a terminal or a log (S10).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from outreach.db import AUDIT_KEY
from outreach.domain import validation
from outreach.domain.protocols.profile import Profile
from outreach.models import Group, Participant
from outreach.security.vault import Vault
from outreach.services.contact_persons import contacts, preferences
from outreach.services.errors import Invalid, NotFound, ServiceError
from outreach.services.intake import programs
from outreach.services.records.audit import SYSTEM, AuditAction, record

Row = Mapping[str, str]
Profiles = Mapping[str, Profile]
COLUMNS: dict[str, tuple[str, ...]] = {
    "groups": (
        "program",
        "name",
        "timezone",
        "rrule",
        "start_time",
        "duration_minutes",
        "starts_on",
    ),
    "participants": ("program", "reference"),
    "contacts": ("program", "participant", "name", "phone", "relationship"),
    "attendance": ("program", "participant", "date", "status"),
    # A class the program cancelled; `reason` is optional.
    "cancellations": ("program", "group", "date"),
}
KINDS = tuple(COLUMNS)


@dataclass
class ImportResult:
    imported: int = 0
    errors: list[str] = field(default_factory=list)


def missing_columns(kind: str, header: Iterable[str]) -> list[str]:
    return [c for c in COLUMNS[kind] if c not in set(header)]


def import_rows(
    engine: Engine,
    vault: Vault,
    *,
    audit_key: bytes,
    kind: str,
    rows: Iterable[tuple[int, Row]],
    now: datetime,
    profiles: Profiles,
    progress: Callable[[int], object] = lambda _: None,
) -> ImportResult:
    """Import every row or none; report each bad row by line number."""
    result = ImportResult()
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(
            bind=connection,
            join_transaction_mode="create_savepoint",
            info={AUDIT_KEY: audit_key},  # its audit rows are chained like any other (S10)
        )
        for line, row in rows:
            _one(session, vault, profiles, kind, line, row, now, result)
            progress(1)
        if result.errors:
            outer.rollback()
            return result
        record(
            session,
            now=now,
            actor=SYSTEM,
            action=AuditAction.IMPORT_COMPLETED,
            object_type="import",
            kind=kind,
            rows=result.imported,
        )
        session.commit()
        outer.commit()
    return result


def _one(
    session: Session,
    vault: Vault,
    profiles: Profiles,
    kind: str,
    line: int,
    row: Row,
    now: datetime,
    result: ImportResult,
) -> None:
    try:
        _refuse_nul(row)
        IMPORTERS[kind](session, vault, profiles, row, now)
        result.imported += 1
    except ServiceError as exc:
        session.rollback()  # only this row's savepoint
        result.errors.append(f"line {line}: {_reason(kind, exc)}")


def _reason(kind: str, exc: ServiceError) -> str:
    if kind == "contacts":  # S10: name the fields, never echo a value
        return "check " + ", ".join(sorted(exc.fields) or ["the row"])
    return exc.message


def _groups(session: Session, _vault: Vault, _profiles: Profiles, row: Row, now: datetime) -> None:
    programs.create_group(
        session,
        program_id=programs.program_by_key(session, row["program"]).id,
        name=row["name"],
        timezone=row["timezone"],
        rrule=row["rrule"],
        start_time=row["start_time"],
        duration_minutes=_int(row, "duration_minutes"),
        starts_on=_date(row, "starts_on"),
        ends_on=_date(row, "ends_on") if row.get("ends_on") else None,
        now=now,
        actor=SYSTEM,
    )


def _participants(
    session: Session, _vault: Vault, _profiles: Profiles, row: Row, now: datetime
) -> None:
    program = programs.program_by_key(session, row["program"])
    group_id = _group_id(session, program.id, row.get("group", ""))
    programs.add_participant(
        session,
        program_id=program.id,
        group_id=group_id,
        reference=row["reference"],
        now=now,
        actor=SYSTEM,
    )


def _contacts(session: Session, vault: Vault, profiles: Profiles, row: Row, now: datetime) -> None:
    participant = _participant(session, row)
    contacts.add_contact(
        session,
        vault,
        actor=SYSTEM,
        participant_id=participant.id,
        name=row["name"],
        phone=row["phone"],
        relationship=row["relationship"],
        preferences=preferences.Preferences.from_mapping(_preferences(row)),
        now=now,
        profiles=profiles,
        language_stated=bool(row.get("language")),  # S12: else her program's language
    )


def _attendance(
    session: Session, _vault: Vault, profiles: Profiles, row: Row, now: datetime
) -> None:
    checked = row.get("checked_in_at") or ""
    programs.record_attendance(
        session,
        profiles,
        participant_id=_participant(session, row).id,
        session_date=_date(row, "date"),
        status=row["status"],
        checked_in_at=_aware(checked) if checked else None,
        now=now,
        actor=SYSTEM,
    )


def _cancellations(
    session: Session, _vault: Vault, profiles: Profiles, row: Row, now: datetime
) -> None:
    """A cancelled class opens what the program's protocol requires, as from the API."""
    program = programs.program_by_key(session, row["program"])
    group_id = _group_id(session, program.id, row["group"])
    if group_id is None:
        raise Invalid("a cancellation names its group", {"group": "required"})
    programs.cancel_session(
        session,
        profiles,
        group_id=group_id,
        session_date=_date(row, "date"),
        reason=row.get("reason") or "cancelled",
        now=now,
        actor=SYSTEM,
    )


IMPORTERS: dict[str, Callable[[Session, Vault, Profiles, Row, datetime], None]] = {
    "groups": _groups,
    "participants": _participants,
    "contacts": _contacts,
    "attendance": _attendance,
    "cancellations": _cancellations,
}


def _preferences(row: Row) -> dict[str, Any]:
    prefs: dict[str, Any] = {"consent": row.get("consent") or "not_asked"}
    for flag in ("sms", "voicemail", "mail"):
        if row.get(flag):
            prefs[flag] = row[flag].strip().lower() in ("yes", "true", "1")
    if row.get("language"):
        prefs["language"] = row["language"].strip()
    if row.get("safe_times"):  # "MO,TU 18:00-20:00; SA 10:00-12:00"
        prefs["safe_times"] = [_safe_time(part) for part in row["safe_times"].split(";")]
    return prefs


def _safe_time(text: str) -> dict[str, str]:
    days, _, hours = text.strip().partition(" ")
    start, _, end = hours.partition("-")
    return {"days": days, "start": start.strip(), "end": end.strip()}


def _participant(session: Session, row: Row) -> Participant:
    program = programs.program_by_key(session, row["program"])
    found = session.scalar(
        select(Participant).where(
            Participant.program_id == program.id, Participant.reference == row["participant"]
        )
    )
    if found is None:
        raise NotFound("no participant with that reference", {"participant": "unknown"})
    return found


def _group_id(session: Session, program_id: uuid.UUID, name: str) -> uuid.UUID | None:
    if not name.strip():
        return None
    found = session.scalar(
        select(Group.id).where(Group.program_id == program_id, Group.name == name.strip())
    )
    if found is None:
        raise NotFound("no group with that name in the program", {"group": "unknown"})
    return found


def _refuse_nul(row: Row) -> None:
    # A NUL is never text a person meant, and PostgreSQL refuses to store one.
    bad = sorted(name for name, value in row.items() if "\0" in name or "\0" in value)
    if bad:
        raise Invalid("a field holds a NUL character", dict.fromkeys(bad, "invalid"))


def _int(row: Row, name: str) -> int:
    try:
        return int(row[name])
    except ValueError:
        raise Invalid(f"{name} must be a whole number", {name: "invalid"}) from None


def _date(row: Row, name: str) -> date:
    try:
        return validation.plausible_day(name, date.fromisoformat(row[name].strip()))
    except ValueError:
        raise Invalid(f"{name} must be a date YYYY-MM-DD", {name: "invalid"}) from None


def _aware(text: str) -> datetime:
    try:
        return validation.plausible_instant("checked_in_at", datetime.fromisoformat(text.strip()))
    except ValueError:
        message = "checked_in_at must be ISO 8601 with an offset"
        raise Invalid(message, {"checked_in_at": "invalid"}) from None
