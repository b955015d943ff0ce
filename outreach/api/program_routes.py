"""Program-side endpoints: programs, groups, cancellations, participants, attendance.

No contact data passes here; these are what a facilitator's program system uses (S7).
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from outreach.api import actor, bp, db, now
from outreach.api import models as m
from outreach.api import parse as p
from outreach.runtime import runtime
from outreach.services.intake import programs


@bp.post("/programs")
def create_program() -> ResponseReturnValue:
    body, _ = p.read(m.NewProgram)
    program = programs.create_program(
        db(),
        key=body.key,
        name=body.name,
        protocol=body.protocol,
        timezone=body.timezone,
        language=body.language,
        now=now(),
        actor=actor(),
    )
    return jsonify(id=str(program.id)), 201


@bp.post("/groups")
def create_group() -> ResponseReturnValue:
    body, _ = p.read(m.NewGroup)
    program = programs.program_by_key(db(), body.program)
    group = programs.create_group(
        db(),
        program_id=program.id,
        name=body.name,
        timezone=body.timezone,
        rrule=body.rrule,
        start_time=body.start_time,
        duration_minutes=body.duration_minutes,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        now=now(),
        actor=actor(),
    )
    return jsonify(id=str(group.id)), 201


@bp.post("/groups/<group_id>/cancellations")
def cancel_session(group_id: str) -> ResponseReturnValue:
    body, _ = p.read(m.Cancellation)
    cancellation = programs.cancel_session(
        db(),
        runtime().profiles,
        group_id=p.identifier(group_id, "group_id"),
        session_date=body.date,
        reason=body.reason,
        now=now(),
        actor=actor(),
    )
    return jsonify(id=str(cancellation.id)), 201


@bp.post("/participants")
def add_participant() -> ResponseReturnValue:
    body, _ = p.read(m.NewParticipant)
    program = programs.program_by_key(db(), body.program)
    participant = programs.add_participant(
        db(),
        program_id=program.id,
        group_id=body.group_id,
        reference=body.reference,
        now=now(),
        actor=actor(),
    )
    return jsonify(id=str(participant.id)), 201


@bp.post("/attendance")
def record_attendance() -> ResponseReturnValue:
    body, _ = p.read(m.Attendance)
    row = programs.record_attendance(
        db(),
        runtime().profiles,
        participant_id=body.participant_id,
        session_date=body.date,
        status=body.status,
        checked_in_at=body.checked_in_at,
        now=now(),
        actor=actor(),
    )
    return jsonify(id=str(row.id)), 201
