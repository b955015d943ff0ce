"""Contact endpoints: liaison and supervisor tokens only, within their programs (S7).

Admins and facilitators are refused: neither role holds a contact permission.
"""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from outreach.api import actor, bp, db, now
from outreach.api import models as m
from outreach.api import parse as p
from outreach.models import OptBackIn
from outreach.runtime import runtime
from outreach.services.attempts import letters
from outreach.services.contact_persons import contacts, opt_back_in, preference_changes


@bp.post("/contacts")
def add_contact() -> ResponseReturnValue:
    body, raw = p.read(m.NewContact)
    preferences = dict(raw.get("preferences", {}))  # as sent: unstated ones keep defaults
    # S12: unstated, her language is her program's (a Spanish-first program: Spanish).
    stated = body.language is not None or "language" in preferences
    if body.language is not None:
        preferences = {"language": body.language, **preferences}
    contact = contacts.add_contact(
        db(),
        runtime().vault,
        actor=actor(),
        participant_id=body.participant_id,
        name=body.name,
        phone=body.phone,
        relationship=body.relationship,
        preferences=preferences,
        now=now(),
        profiles=runtime().profiles,
        language_stated=stated,
    )
    return jsonify(id=str(contact.id)), 201


@bp.patch("/contacts/<contact_id>/preferences")
def change_preferences(contact_id: str) -> ResponseReturnValue:
    _, changes = p.read(m.PreferenceChanges)
    row = preference_changes.change_preferences(
        db(),
        runtime().vault,
        runtime().profiles,
        actor=actor(),
        contact_id=p.identifier(contact_id, "contact_id"),
        changes=changes,
        now=now(),
        source="api",
    )
    if isinstance(row, OptBackIn):
        # S1: held until a supervisor confirms it; she stays declined until then.
        return jsonify(id=str(row.contact_id), held=True, request_id=str(row.id)), 202
    answer = jsonify(
        id=str(row.contact_id),
        version=row.version,
        consent=row.consent,
        cadence=row.cadence,
        updates=row.updates,
    )
    return answer, 200


@bp.post("/opt-back-in/<request_id>/confirm")
def confirm_opt_back_in(request_id: str) -> ResponseReturnValue:
    """S1: a supervisor confirms a declined contact's request, in her words, to consent again."""
    row = opt_back_in.confirm(
        db(), actor=actor(), request_id=p.identifier(request_id, "request_id"), now=now()
    )
    return jsonify(id=str(row.contact_id), version=row.version, consent=row.consent), 200


@bp.route("/contacts/<contact_id>/mailing-address", methods=["PUT", "DELETE"])
def mailing_address(contact_id: str) -> ResponseReturnValue:
    """seeds/001 "Massachusetts": PUT the address she named as safe for letters (sealed);
    DELETE it, and no letter can go: the protocol's call applies instead."""
    address = p.read(m.MailingAddress)[0].mailing_address if request.method == "PUT" else None
    return _mailing_address(contact_id, address)


def _mailing_address(contact_id: str, address: str | None) -> ResponseReturnValue:
    on_file = letters.set_mailing_address(
        db(),
        runtime().vault,
        runtime().profiles,
        actor=actor(),
        contact_id=p.identifier(contact_id, "contact_id"),
        address=address,
        now=now(),
    )
    return jsonify(id=contact_id, mailing_address_on_file=on_file), 200
