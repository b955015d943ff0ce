"""Her preferences (S1): what she told us (consent, channels, safe times, language, zone, rhythm,
updates), checked field by field as the API and the pages send them; which version is hers now;
and what it allows the channel layer and the protocol.

Each change is a new version and earlier versions stay as they were: the versions are written
by contacts.add_contact (the first) and her_word.py (every later one).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session, aliased

from outreach.domain import validation
from outreach.domain.calling import Permission as ChannelPermission
from outreach.domain.protocols.engine import offers_updates
from outreach.domain.protocols.profile import Permissions, Profile
from outreach.domain.vocabulary import LANGUAGES, Consent
from outreach.models import ContactPerson, ContactPreferences, Program
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.records.audit import Actor

Profiles = Mapping[str, Profile]


@dataclass(frozen=True)
class SafeTime:
    days: str  # "MO,TU"
    start: str  # "HH:MM" in the contact's own zone
    end: str


@dataclass(frozen=True)
class Preferences:
    """What the contact person told us: consent, channels, safe times, language, zone."""

    consent: str = Consent.NOT_ASKED.value
    voice: bool = True
    sms: bool = False
    voicemail: bool = False
    mail: bool = False
    safe_times: tuple[SafeTime, ...] = ()
    only_during_group: bool = False
    language: str = "en"
    timezone: str | None = None
    # S13: her rhythm, one of her program profile's choices or "none"; None until she chooses.
    cadence: str | None = None
    # Issue 20 item 8: she asked for status updates, where her program offers them.
    updates: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base: Preferences | None = None) -> Preferences:
        """Build from JSON-like input, keeping `base` values for keys not given."""
        merged = {**_as_dict(base or cls()), **dict(data)}
        unknown = set(merged) - set(_as_dict(cls()))
        if unknown:
            raise Invalid("unknown preference fields", {k: "unknown" for k in sorted(unknown)})
        return _validated(merged)


def current_preferences(session: Session, contact_id: uuid.UUID) -> ContactPreferences:
    row = session.scalar(
        select(ContactPreferences)
        .where(ContactPreferences.contact_id == contact_id)
        .order_by(ContactPreferences.version.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound("no contact with that id", {"contact_id": "unknown"})
    return row


def newest_to_change(session: Session, contact_id: uuid.UUID) -> ContactPreferences:
    """The newest version, read under the contact's row lock by a write that will add the next
    one: two writes at once (a liaison's edit and her texted STOP) take turns instead of both
    writing the same version number and one failing (S1, S2). SQLite's write lock already
    serialises them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(ContactPerson.id)
            .where(ContactPerson.id == contact_id)
            .with_for_update(key_share=True)
        )
    return current_preferences(session, contact_id)


def contact_zone(prefs: ContactPreferences, program: Program) -> ZoneInfo:
    """The zone a contact's times are shown, typed and counted in: her own, else the
    program's (the task page, its form, and S5's window of an attempt outside group)."""
    return ZoneInfo(prefs.timezone or program.timezone)


def newest_version() -> ColumnElement[bool]:
    """True of a preferences row no later version of the same contact replaces: a query that
    joins preferences reads each contact's current choices (S1) without loading the rest."""
    newer = aliased(ContactPreferences)
    return ~exists().where(
        newer.contact_id == ContactPreferences.contact_id,
        newer.version > ContactPreferences.version,
    )


def current_preferences_of(
    session: Session, contact_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ContactPreferences]:
    """Each contact's newest preferences version, in one query however many contacts."""
    ids = list(contact_ids)
    latest = (
        select(ContactPreferences.contact_id, func.max(ContactPreferences.version).label("version"))
        .where(ContactPreferences.contact_id.in_(ids))
        .group_by(ContactPreferences.contact_id)
        .subquery()
    )
    rows = session.scalars(
        select(ContactPreferences).join(
            latest,
            (latest.c.contact_id == ContactPreferences.contact_id)
            & (latest.c.version == ContactPreferences.version),
        )
    )
    return {row.contact_id: row for row in rows}


def check_rhythm(
    session: Session, profiles: Profiles | None, program_id: uuid.UUID, cadence: str | None
) -> None:
    """S13: her rhythm is one of the choices her program's profile offers, or "none";
    otherwise 422 naming `cadence` and listing the choices."""
    if cadence is None:
        return
    program = session.get(Program, program_id)
    profile = None if profiles is None or program is None else profiles.get(program.protocol)
    if profile is None:
        raise Conflict("the program's protocol is not loaded: her rhythm cannot be checked")
    if cadence not in profile.cadence_choices:
        offered = ", ".join(profile.cadence_choices)
        raise Invalid(
            f"her program offers these rhythms: {offered}", {"cadence": f"must be one of {offered}"}
        )


def check_updates_offered(
    session: Session, profiles: Profiles | None, program_id: uuid.UUID
) -> None:
    """Issue 20 item 8: she may ask for status updates only where her program's profile
    offers them (seeds/001 Caminar Latino and Emerge, seeds/004 PCADV); otherwise 422 naming
    `updates`."""
    program = session.get(Program, program_id)
    profile = None if profiles is None or program is None else profiles.get(program.protocol)
    if profile is None:
        raise Conflict("the program's protocol is not loaded: updates cannot be checked")
    if not offers_updates(profile):
        raise Invalid(
            "her program does not offer status updates", {"updates": "not offered by her program"}
        )


def permission_of(row: ContactPreferences) -> ChannelPermission:
    """What the channel layer may do for this contact, read from a preferences version."""
    return ChannelPermission(Consent(row.consent), row.voice, row.sms, row.voicemail, row.mail)


def channel_permissions(row: ContactPreferences, contact: ContactPerson) -> Permissions:
    """What the protocol may plan a task on for her (S1). A letter needs her permission and a
    mailing address she named as safe (seeds/001 "Massachusetts"): without one, the letter
    task falls back to the protocol's fallback channel (a call) instead of waiting for mail
    that cannot go."""
    return Permissions(
        consent=Consent(row.consent),
        voice=row.voice,
        sms=row.sms,
        mail=row.mail and contact.address_sealed is not None,
    )


def preferences_of(row: ContactPreferences) -> Preferences:
    return Preferences(
        consent=row.consent,
        voice=row.voice,
        sms=row.sms,
        voicemail=row.voicemail,
        mail=row.mail,
        safe_times=tuple(SafeTime(**t) for t in row.safe_times),
        only_during_group=row.only_during_group,
        language=row.language,
        timezone=row.timezone,
        cadence=row.cadence,
        updates=row.updates,
    )


def preferences_row(
    contact_id: uuid.UUID,
    version: int,
    prefs: Preferences,
    actor: Actor,
    now: datetime,
    *,
    source: str,
) -> ContactPreferences:
    return ContactPreferences(
        contact_id=contact_id,
        version=version,
        consent=prefs.consent,
        voice=prefs.voice,
        sms=prefs.sms,
        voicemail=prefs.voicemail,
        mail=prefs.mail,
        safe_times=[t.__dict__ for t in prefs.safe_times],
        only_during_group=prefs.only_during_group,
        language=prefs.language,
        timezone=prefs.timezone,
        cadence=prefs.cadence,
        updates=prefs.updates,
        source=source,
        recorded_by=actor.user_id,
        recorded_at=now,
    )


def _as_dict(prefs: Preferences) -> dict[str, Any]:
    return {
        "consent": prefs.consent,
        "voice": prefs.voice,
        "sms": prefs.sms,
        "voicemail": prefs.voicemail,
        "mail": prefs.mail,
        "safe_times": [t.__dict__ for t in prefs.safe_times],
        "only_during_group": prefs.only_during_group,
        "language": prefs.language,
        "timezone": prefs.timezone,
        "cadence": prefs.cadence,
        "updates": prefs.updates,
    }


def _validated(data: Mapping[str, Any]) -> Preferences:
    fields: dict[str, str] = {}
    for flag in ("voice", "sms", "voicemail", "mail", "only_during_group", "updates"):
        if not isinstance(data[flag], bool):
            fields[flag] = "must be true or false"
    # Text first: a list or an object from JSON is not hashable.
    if not isinstance(data["consent"], str) or data["consent"] not in {c.value for c in Consent}:
        fields["consent"] = "must be not_asked, consented or declined"
    if not isinstance(data["language"], str) or data["language"] not in LANGUAGES:
        fields["language"] = f"must be one of {', '.join(LANGUAGES)}"
    times = _safe_times(data["safe_times"], fields)
    cadence = data["cadence"]
    if cadence is not None and (not isinstance(cadence, str) or not 0 < len(cadence) <= 40):
        # Which names her program offers is checked against its profile (check_rhythm).
        fields["cadence"] = "must be the name of one of the program's rhythms, or none"
    zone = data["timezone"]
    if zone is not None:
        try:
            validation.timezone_name("timezone", zone)
        except validation.InvalidInput as exc:
            fields["timezone"] = str(exc)
    if fields:
        raise Invalid("some preferences are not valid", fields)
    return Preferences(**{**dict(data), "safe_times": times})


def _safe_times(raw: object, fields: dict[str, str]) -> tuple[SafeTime, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        fields["safe_times"] = "must be a list of {days, start, end}"
        return ()
    times: list[SafeTime] = []
    for i, item in enumerate(raw):
        try:
            times.append(_safe_time(item))
        except (validation.InvalidInput, KeyError, TypeError, AttributeError) as exc:
            fields[f"safe_times[{i}]"] = str(exc) if isinstance(exc, ValueError) else "malformed"
    return tuple(times)


def _safe_time(item: Any) -> SafeTime:
    days = validation.weekdays("days", item["days"])
    start = validation.clock_time("start", item["start"])
    end = validation.clock_time("end", item["end"])
    if start >= end:
        raise validation.InvalidInput("end", "must be after start")
    return SafeTime(days=days, start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))
