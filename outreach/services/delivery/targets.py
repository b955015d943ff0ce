"""Whom an outward action reaches, and whether it may go now (S1-S4, S9, S12).

Every call, text and letter loads its task's contact through here and is refused here when
consent, her permissions or calling hours forbid it; the approved text is rendered in her
language and linted here, and opening her number for a send is audited here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.domain import scripts
from outreach.domain.calling import (
    Permission,
    calling_hours_apply,
    contact_zones,
    within_calling_hours,
)
from outreach.domain.script_library import RenderError
from outreach.domain.vocabulary import Channel, DeliveryKind, TaskStatus
from outreach.models import ContactPerson, OutreachTask, Program
from outreach.security.vault import ContactCipher, place
from outreach.services.attempts import tasks
from outreach.services.contact_persons import preferences
from outreach.services.delivery.outward import Outward
from outreach.services.errors import Conflict
from outreach.services.records.audit import Actor, record_reveal
from outreach.services.supervision import holds


@dataclass(frozen=True)
class Target:
    """A task's contact as an outward action needs her: permissions, language, time zones."""

    task: OutreachTask
    contact: ContactPerson
    program: Program
    permission: Permission
    language: str
    zones: tuple[str, ...]
    cipher: ContactCipher

    def phone(self) -> str:
        return self.cipher.open(
            place("contact_person", "phone", self.contact.id), self.contact.phone_sealed
        )

    def address(self) -> tuple[str, ...]:
        sealed = self.contact.address_sealed
        assert sealed is not None  # mailing._letter_target refused a contact without one
        text = self.cipher.open(place("contact_person", "address", self.contact.id), sealed)
        return tuple(text.splitlines())

    def first_name(self) -> str:
        name = self.cipher.open(
            place("contact_person", "name", self.contact.id), self.contact.name_sealed
        )
        return name.split()[0]


def target_for(
    session: Session,
    out: Outward,
    task_id: uuid.UUID,
    action: DeliveryKind,
    now: datetime,
    *,
    actor: Actor,
    hours: bool = True,
) -> Target:
    """Load the task's contact and refuse anything the safety rules forbid."""
    task = tasks.task_to_work(session, actor, task_id, now)
    if task.status != TaskStatus.OPEN:
        raise Conflict("the task is closed")
    target = load_target(session, out, task)
    # S1/S8: a declined contact only on a duty to warn a supervisor confirmed.
    refusal = target.permission.refusal(action, override=holds.override_confirmed(session, task))
    if refusal:
        raise Conflict(f"not sent: {refusal}")
    if (
        hours
        and calling_hours_apply(task.reason)  # S8: a duty to warn is callable at any hour
        and not within_calling_hours(
            now, target.zones, out.settings.calling_start, out.settings.calling_end
        )
    ):
        raise Conflict("not sent: outside calling hours in the contact's time zone")  # S4
    return target


def by_call(task: OutreachTask) -> None:
    """S1: a task uses only the channels its protocol and her permissions both allow; a letter
    task (she allowed mail and named a safe address) is not a call, and a call made on it could
    never have its outcome recorded."""
    if Channel.VOICE not in task.channels:
        raise Conflict("not sent: this task is not made by call")


def load_target(session: Session, out: Outward, task: OutreachTask) -> Target:
    contact = session.get(ContactPerson, task.contact_id)
    program = session.get(Program, task.program_id)
    assert contact is not None
    assert program is not None
    prefs = preferences.current_preferences(session, contact.id)
    zones = contact_zones(prefs.timezone, contact.phone_zones, program.timezone)
    return Target(
        task,
        contact,
        program,
        preferences.permission_of(prefs),
        prefs.language,
        zones,
        out.vault.cipher_for(session, contact.id),
    )


def render(
    out: Outward, target: Target, kind: str, name: str, extra: dict[str, str] | None = None
) -> str:
    """Render an approved text for her, in her language, refused if it fails the lint."""
    values = {
        "first_name": target.first_name(),
        "liaison_first_name": out.settings.sender_first_name,
        **(extra or {}),
    }
    return checked_render(out, target.program, target.language, kind, name, values)


def checked_render(
    out: Outward, program: Program, language: str, kind: str, name: str, values: dict[str, str]
) -> str:
    """Render an approved text; a text naming the program or a service is never sent (S9)."""
    try:
        return scripts.render(
            out.library, kind, name, language, values, forbidden=(program.name, program.key)
        )
    except RenderError as exc:
        # The findings name the rule, never the value that broke it.
        rules = ", ".join(sorted({f.rule for f in exc.findings}))
        raise Conflict(f"not sent: the text failed the safety check ({rules})") from None


def reveal_for_sending(session: Session, target: Target, actor: Actor, now: datetime) -> str:
    """Open her number for a send; the read is audited in the caller's transaction."""
    record_reveal(session, actor=actor, contact=target.contact, purpose="send", now=now)
    return target.phone()
