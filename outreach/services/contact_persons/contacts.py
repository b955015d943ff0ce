"""Contact persons: created sealed, read only through an audited reveal (S1, S7, S10)."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, exists, func, select
from sqlalchemy.orm import Session, aliased

from outreach.domain import validation
from outreach.domain.calling import Permission as ChannelPermission
from outreach.domain.phones import InvalidPhone, normalize_phone, zones_for_number
from outreach.domain.protocols.engine import offers_updates
from outreach.domain.protocols.profile import Permissions, Profile
from outreach.domain.vocabulary import LANGUAGES, Consent
from outreach.models import ContactPerson, ContactPreferences, Participant, Program
from outreach.security.permissions import Permission
from outreach.security.vault import Vault, place
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.intake import referrals
from outreach.services.records.audit import SYSTEM, Actor, AuditAction, record
from outreach.services.staff.access import require

Profiles = Mapping[str, Profile]
RELATIONSHIPS = ("partner", "ex_partner", "spouse", "co_parent", "other")
MAX_NAME = 120


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


@dataclass(frozen=True)
class ContactDetails:
    """Opened contact data; returned only after the reveal was audited."""

    contact_id: uuid.UUID
    name: str
    phone: str


def add_contact(
    session: Session,
    vault: Vault,
    *,
    actor: Actor,
    participant_id: uuid.UUID,
    name: str,
    phone: str,
    relationship: str,
    preferences: Preferences | Mapping[str, Any],
    now: datetime,
    profiles: Profiles | None = None,
    language_stated: bool = True,
) -> ContactPerson:
    """Create a contact person with sealed name and phone and a first preferences version.

    S12: when nobody stated her language, her program's profile's language is her default
    (a Spanish-first program's contacts start in Spanish)."""
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound("no participant with that id", {"participant_id": "unknown"})
    require(
        session,
        actor,
        Permission.CONTACT_WRITE,
        participant.program_id,
        now=now,
        object_type="participant",
        object_id=participant.id,
    )
    if not isinstance(preferences, Preferences):
        # As sent to the API: read once the caller may write here, so a 403 or 404 comes
        # before what is wrong with her preferences.
        preferences = Preferences.from_mapping(preferences)
    check_rhythm(session, profiles, participant.program_id, preferences.cadence)  # S13
    if preferences.updates:
        check_updates_offered(session, profiles, participant.program_id)
    if not language_stated:
        language = _program_language(session, profiles, participant.program_id)
        preferences = dataclasses.replace(preferences, language=language)
    e164 = _phone(phone)
    contact = ContactPerson(
        participant_id=participant.id,
        program_id=participant.program_id,
        relationship_to_participant=_relationship(relationship),
        phone_index=vault.phone_index(e164),
        phone_zones=",".join(zones_for_number(e164)),
        created_at=now,
    )
    contact_id = contact.ensure_id()
    cipher, key_row = vault.new_contact_key(contact_id, now=now)
    contact.name_sealed = cipher.seal(place("contact_person", "name", contact_id), _name(name))
    contact.phone_sealed = cipher.seal(place("contact_person", "phone", contact_id), e164)
    session.add(contact)
    session.flush()  # the key and preferences rows refer to the contact by foreign key
    session.add(key_row)
    session.add(_preferences_row(contact_id, 1, preferences, actor, now, source="create"))
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.CONTACT_CREATED,
        object_type="contact",
        object_id=contact_id,
        program_id=contact.program_id,
    )
    session.commit()
    return contact


def reveal_contact(
    session: Session,
    vault: Vault,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    now: datetime,
    purpose: str,
) -> ContactDetails:
    """Open a contact's name and phone for someone allowed to see them; audit it first.

    The audit row is committed before anything is returned: if it cannot be written,
    nothing is shown (S10).
    """
    contact = _contact(session, contact_id)
    require(
        session,
        actor,
        Permission.CONTACT_READ,
        contact.program_id,
        now=now,
        object_type="contact",
        object_id=contact_id,
    )
    cipher = vault.cipher_for(session, contact_id)
    details = ContactDetails(
        contact_id=contact_id,
        name=cipher.open(place("contact_person", "name", contact_id), contact.name_sealed),
        phone=cipher.open(place("contact_person", "phone", contact_id), contact.phone_sealed),
    )
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.CONTACT_REVEALED,
        object_type="contact",
        object_id=contact_id,
        program_id=contact.program_id,
        purpose=purpose,
    )
    session.commit()
    return details


def find_by_phone(session: Session, vault: Vault, raw_phone: str) -> list[ContactPerson]:
    """Find contacts by phone through the blind index, confirming each match by decryption."""
    try:
        e164 = normalize_phone(raw_phone)
    except InvalidPhone:
        return []
    # Every index key: mid re-key a contact's index may be under the old key or the new (S2).
    candidates = session.scalars(
        select(ContactPerson).where(ContactPerson.phone_index.in_(vault.phone_indexes(e164)))
    )
    return [c for c in candidates if _phone_matches(session, vault, c, e164)]


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


def _newest_to_change(session: Session, contact_id: uuid.UUID) -> ContactPreferences:
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


def change_preferences(
    session: Session,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    now: datetime,
    source: str = "liaison",
    profiles: Profiles | None = None,
) -> ContactPreferences:
    """Record a new preferences version and commit (record_preferences says what is refused)."""
    row = record_preferences(
        session,
        actor=actor,
        contact_id=contact_id,
        changes=changes,
        now=now,
        source=source,
        profiles=profiles,
    )
    session.commit()
    return row


def record_preferences(
    session: Session,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    now: datetime,
    source: str,
    profiles: Profiles | None,
) -> ContactPreferences:
    """Record a new preferences version in the caller's transaction; earlier versions stay
    as they were (S1).

    What only the contact can undo is refused: a decline (S1: no further contact, ever) and
    a STOP she texted (S2: only her START turns texts back on). A new rhythm must be one her
    program's profile offers (S13), so `profiles` is needed to change it."""
    contact = _contact(session, contact_id)
    require(
        session,
        actor,
        Permission.CONTACT_WRITE,
        contact.program_id,
        now=now,
        object_type="contact",
        object_id=contact_id,
    )
    current = _newest_to_change(session, contact_id)
    updated = Preferences.from_mapping(changes, base=preferences_of(current))
    _refuse_undoing_her_word(session, current, updated)
    if updated.cadence != current.cadence:
        check_rhythm(session, profiles, contact.program_id, updated.cadence)
    if updated.updates and not current.updates:
        check_updates_offered(session, profiles, contact.program_id)
    row = _preferences_row(contact_id, current.version + 1, updated, actor, now, source=source)
    session.add(row)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.PREFERENCES_CHANGED,
        object_type="contact",
        object_id=contact_id,
        program_id=contact.program_id,
        consent=updated.consent,
        cadence=updated.cadence,
        updates=updated.updates,
        version=row.version,
    )
    return row


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


def _program_language(session: Session, profiles: Profiles | None, program_id: uuid.UUID) -> str:
    # S12: the program's own language (Caminar Latino), else its profile's.
    program = session.get(Program, program_id)
    return "en" if program is None else referrals.program_language(program, profiles)


def consented_since(session: Session, contact_id: uuid.UUID) -> datetime | None:
    """When her present consent began (the first of the unbroken run of consented versions
    ending with the newest), or None if she is not consenting now. S13 counts from it."""
    since = None
    for consent, recorded_at in session.execute(
        select(ContactPreferences.consent, ContactPreferences.recorded_at)
        .where(ContactPreferences.contact_id == contact_id)
        .order_by(ContactPreferences.version.desc())
    ):
        if consent != Consent.CONSENTED:
            break
        since = recorded_at
    return since


def record_opt_back_in(
    session: Session,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    now: datetime,
) -> ContactPreferences:
    """S1: the one way out of a decline, in the caller's transaction: only for a request in
    her words that a supervisor confirmed (opt_back_in.confirm)."""
    current = current_preferences(session, contact_id)
    updated = Preferences.from_mapping(changes, base=preferences_of(current))
    row = _preferences_row(
        contact_id, current.version + 1, updated, actor, now, source="opt_back_in"
    )
    session.add(row)
    return row


def _refuse_undoing_her_word(
    session: Session, current: ContactPreferences, updated: Preferences
) -> None:
    if current.consent == Consent.DECLINED and updated.consent != Consent.DECLINED:
        raise Conflict(
            "she declined: no further contact of any kind (S1); she opts back in only in her "
            "own words, recorded by a liaison and confirmed by a supervisor; meanwhile only a "
            "duty to warn, confirmed by a supervisor, may still reach her",
            {"consent": "declined stays"},
        )
    if updated.updates and not current.updates and updated.consent == Consent.DECLINED:
        # Issue 20 item 8 and S1: updates are contact; a declined contact gets none.
        raise Conflict(
            "she declined: no status updates either (S1)", {"updates": "she declined contact"}
        )
    if updated.sms and not current.sms and sms_stopped(session, current.contact_id):
        raise Conflict(
            "she texted STOP: texts stay off until she texts START herself (S2)",
            {"sms": "stopped by her STOP"},
        )


def record_decline(
    session: Session, *, actor: Actor, contact_id: uuid.UUID, now: datetime
) -> ContactPreferences:
    """S1: the contact declined; a new version says so, in the caller's transaction."""
    current = _newest_to_change(session, contact_id)
    declined = Preferences.from_mapping(
        # Issue 20 item 8: no updates either; she asks for them again if she opts back in.
        {
            "consent": Consent.DECLINED.value,
            "sms": False,
            "voicemail": False,
            "mail": False,
            "updates": False,
        },
        base=preferences_of(current),
    )
    row = _preferences_row(contact_id, current.version + 1, declined, actor, now, source="declined")
    session.add(row)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.CONTACT_DECLINED,
        object_type="contact",
        object_id=contact_id,
        version=row.version,
    )
    return row


def revoke_sms(
    session: Session, *, contact_id: uuid.UUID, now: datetime, source: str
) -> ContactPreferences | None:
    """S2: stop SMS at once and for good (until the contact sends START); in the caller's
    transaction. Voice and every other permission stay as they were.

    Answer the new version if texts were allowed until now, else None. A STOP that comes
    while texts are already off still goes on record (a version that changes nothing), so
    no one turns them back on later (sms_stopped)."""
    current = _newest_to_change(session, contact_id)
    if not current.sms and sms_stopped(session, contact_id):
        return None  # already on record
    row = _new_sms_version(session, current, False, now, source, AuditAction.SMS_REVOKED)
    return row if current.sms else None


# What turns SMS off when the contact texted STOP, to us or to her carrier (S2).
STOP_SOURCES = frozenset({"sms_stop", "carrier_opt_out"})


def restore_sms(
    session: Session, *, contact_id: uuid.UUID, now: datetime
) -> ContactPreferences | None:
    """S2: START re-enables SMS only, for a consented contact whose texts a STOP turned off.

    Texts she never allowed, or that were turned off on her word to a liaison, stay off:
    anyone holding her phone can send START."""
    current = _newest_to_change(session, contact_id)
    if current.consent != Consent.CONSENTED or current.sms:
        return None
    if _sms_turned_off_by(session, contact_id) not in STOP_SOURCES:
        return None
    return _new_sms_version(session, current, True, now, "sms_start", AuditAction.SMS_RESTORED)


def sms_stopped(session: Session, contact_id: uuid.UUID) -> bool:
    """S2: she texted STOP, or her carrier reported one, since texts were last allowed."""
    return stop_stands(_sms_history(session, contact_id))


class _SmsVersion(Protocol):
    sms: bool
    source: str


def stop_stands(versions: Iterable[_SmsVersion]) -> bool:
    """sms_stopped, read from versions already loaded (newest first), as the task page has."""
    for version in versions:
        if version.source in STOP_SOURCES:
            return True
        if version.sms:
            return False
    return False


def _sms_turned_off_by(session: Session, contact_id: uuid.UUID) -> str | None:
    """The source of the newest version that turned SMS from allowed to not allowed."""
    for newer, older in itertools.pairwise(_sms_history(session, contact_id)):
        if older.sms and not newer.sms:
            return str(newer.source)
    return None


def _sms_history(session: Session, contact_id: uuid.UUID) -> Sequence[Row[tuple[bool, str]]]:
    """Each version's SMS permission and what made the version, newest first."""
    return session.execute(
        select(ContactPreferences.sms, ContactPreferences.source)
        .where(ContactPreferences.contact_id == contact_id)
        .order_by(ContactPreferences.version.desc())
    ).all()


def _new_sms_version(
    session: Session,
    current: ContactPreferences,
    allowed: bool,
    now: datetime,
    source: str,
    action: AuditAction,
) -> ContactPreferences:
    contact_id = current.contact_id
    updated = Preferences.from_mapping({"sms": allowed}, base=preferences_of(current))
    row = _preferences_row(contact_id, current.version + 1, updated, SYSTEM, now, source=source)
    session.add(row)
    record(
        session,
        now=now,
        actor=SYSTEM,
        action=action,
        object_type="contact",
        object_id=contact_id,
        version=row.version,
        source=source,
    )
    return row


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


# --- helpers ------------------------------------------------------------------------------


def _contact(session: Session, contact_id: uuid.UUID) -> ContactPerson:
    contact = session.get(ContactPerson, contact_id)
    if contact is None:
        raise NotFound("no contact with that id", {"contact_id": "unknown"})
    return contact


def _phone_matches(session: Session, vault: Vault, contact: ContactPerson, e164: str) -> bool:
    cipher = vault.cipher_for(session, contact.id)
    stored = cipher.open(place("contact_person", "phone", contact.id), contact.phone_sealed)
    return vault.same_phone(stored, e164)


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidPhone as exc:
        raise Invalid(str(exc), {"phone": "invalid"}) from None


def _name(raw: str) -> str:
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name or len(name) > MAX_NAME:
        raise Invalid(f"a name has 1 to {MAX_NAME} characters", {"name": "invalid"})
    return name


def _relationship(value: str) -> str:
    if value not in RELATIONSHIPS:
        raise Invalid(
            f"relationship must be one of {', '.join(RELATIONSHIPS)}", {"relationship": "invalid"}
        )
    return value


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


def _preferences_row(
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
