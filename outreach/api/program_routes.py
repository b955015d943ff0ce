"""Program-side endpoints: programs, groups, cancellations, participants, attendance.

No contact data passes here; these are what a facilitator's program system uses (S7).
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from outreach.api import actor, bp, db, now
from outreach.api import parse as p
from outreach.runtime import runtime
from outreach.services import programs


@bp.post("/programs")
def create_program() -> ResponseReturnValue:
    body = p.json_body()
    program = programs.create_program(
        db(),
        key=p.text(body, "key", max_length=40),
        name=p.text(body, "name"),
        protocol=p.text(body, "protocol", max_length=60),
        timezone=p.text(body, "timezone", max_length=64),
        now=now(),
        actor=actor(),
    )
    return jsonify(id=str(program.id)), 201


@bp.post("/groups")
def create_group() -> ResponseReturnValue:
    body = p.json_body()
    program = programs.program_by_key(db(), p.text(body, "program", max_length=40))
    starts_on = p.day(body, "starts_on")
    assert starts_on is not None
    group = programs.create_group(
        db(),
        program_id=program.id,
        name=p.text(body, "name"),
        timezone=p.text(body, "timezone", max_length=64),
        rrule=p.text(body, "rrule", max_length=500),
        start_time=p.text(body, "start_time", max_length=5),
        duration_minutes=p.whole_number(body, "duration_minutes"),
        starts_on=starts_on,
        ends_on=p.day(body, "ends_on", required=False),
        now=now(),
        actor=actor(),
    )
    return jsonify(id=str(group.id)), 201


@bp.post("/groups/<group_id>/cancellations")
def cancel_session(group_id: str) -> ResponseReturnValue:
    body = p.json_body()
    session_date = p.day(body, "date")
    assert session_date is not None
    cancellation = programs.cancel_session(
        db(),
        runtime().profiles,
        group_id=p.identifier(group_id, "group_id"),
        session_date=session_date,
        reason=p.text(body, "reason"),
        now=now(),
        actor=actor(),
    )
    return jsonify(id=str(cancellation.id)), 201


@bp.post("/participants")
def add_participant() -> ResponseReturnValue:
    body = p.json_body()
    program = programs.program_by_key(db(), p.text(body, "program", max_length=40))
    group_id = body.get("group_id")
    participant = programs.add_participant(
        db(),
        program_id=program.id,
        group_id=None if group_id is None else p.identifier(group_id, "group_id"),
        reference=p.text(body, "reference", max_length=80),
        now=now(),
        actor=actor(),
    )
    return jsonify(id=str(participant.id)), 201


@bp.post("/attendance")
def record_attendance() -> ResponseReturnValue:
    body = p.json_body()
    session_date = p.day(body, "date")
    assert session_date is not None
    row = programs.record_attendance(
        db(),
        participant_id=p.identifier(body.get("participant_id"), "participant_id"),
        session_date=session_date,
        status=p.text(body, "status", max_length=10),
        checked_in_at=p.instant(body, "checked_in_at", required=False),
        now=now(),
        actor=actor(),
    )
    return jsonify(id=str(row.id)), 201
