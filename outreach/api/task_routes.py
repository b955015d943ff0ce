"""Program events that open tasks, the open tasks with their windows, attempts and closing."""

from __future__ import annotations

import uuid

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from outreach.api import actor, bp, db, now
from outreach.api import models as m
from outreach.api import parse as p
from outreach.domain.planning.windows import Plan
from outreach.models import Attempt, OutreachTask
from outreach.runtime import runtime
from outreach.security.permissions import Permission
from outreach.services.attempts import attempt_log, claimed_work, letters
from outreach.services.errors import Invalid
from outreach.services.intake import event_dates, events
from outreach.services.scheduling import planning, queue
from outreach.services.staff.access import require
from outreach.services.supervision import duty_to_warn, holds

PLAN_DAYS = 14


@bp.post("/participants/<participant_id>/events")
def report_event(participant_id: str) -> ResponseReturnValue:
    body, _ = p.read(m.ProgramEvent)
    event, opened = events.report_event(
        db(),
        runtime().profiles,
        actor=actor(),
        participant_id=p.identifier(participant_id, "participant_id"),
        event_type=body.type,
        at=body.at,
        severity=body.severity,
        now=now(),
        days={name: getattr(body, name) for name in event_dates.DAY_FIELDS},
    )
    answer: dict[str, object] = {"id": str(event.id)}
    visible = events.tasks_visible_to(db(), actor(), event, opened)
    if visible is not None:  # S7: a facilitator's answer says nothing of contacts
        answer["tasks"] = [str(task_id) for task_id in visible]
    return jsonify(answer), 201


@bp.get("/tasks")
def list_tasks() -> ResponseReturnValue:
    if request.args.get("status", "open") != "open":
        raise Invalid("only status=open is listed", {"status": "unsupported"})
    require(db(), actor(), Permission.CONTACT_READ, None, now=now(), object_type="task")
    programs = actor().program_ids if actor().user_id else None
    rt = runtime()
    plan = planning.plan_open_tasks(
        db(),
        rt.profiles,
        now=now(),
        days=PLAN_DAYS,
        program_ids=programs,
        calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
    )
    held_too = queue.sees_held(actor())
    return jsonify([_task_json(t, plan, held_too) for t in _open_tasks(programs, held_too)])


def _open_tasks(programs: frozenset[uuid.UUID] | None, held_too: bool) -> list[OutreachTask]:
    query = select(OutreachTask).where(OutreachTask.status == "open")
    if not held_too:  # S1/S8: a held duty to warn is a supervisor's until confirmed
        query = query.where(~holds.held_clause())
    if programs is not None:
        query = query.where(OutreachTask.program_id.in_(programs))
    return list(db().scalars(query.order_by(OutreachTask.priority, OutreachTask.due_by)))


def _task_json(task: OutreachTask, plan: Plan, held_too: bool) -> dict[str, object]:
    key = str(task.id)
    mine = [w.to_json() for w in plan.windows if w.task_id == key]
    status = plan.statuses.get(key)
    return {
        "id": str(task.id),
        "contact_id": str(task.contact_id),
        "reason": task.reason,
        "due_by": task.due_by.isoformat(),
        "severity": task.severity,
        "min_attempts": task.min_attempts,
        "attempts": len(attempt_log.standing_attempts(db(), task.id)),
        "status": task.status,
        # S13: his real current status from the events, and since when (issue 19).
        "participant_status": status.status.value if status else None,
        "participant_status_since": (status.since.isoformat() if status and status.since else None),
        # What the planner left out and why (S4), e.g. "group_time_after_exit".
        "refused": sorted({s.reason.value for s in plan.skipped if s.task_id == key}),
        "held": held_too and holds.is_held(db(), task),
        "windows": mine,
    }


@bp.get("/tasks/<task_id>/attempts")
def list_attempts(task_id: str) -> ResponseReturnValue:
    found = attempt_log.attempt_log_of(
        db(), actor=actor(), task_id=p.identifier(task_id, "task_id"), now=now()
    )
    return jsonify([_attempt_json(a) for a in found])


def _attempt_json(attempt: Attempt) -> dict[str, object]:
    found: dict[str, object] = {
        "id": str(attempt.id),
        "at": attempt.at.isoformat(),
        "entered_at": attempt.recorded_at.isoformat(),
        "entered_by": str(attempt.entered_by) if attempt.entered_by else None,
        "entered_via": attempt.entered_via,
        "channel": attempt.channel,
        "outcome": attempt.outcome,
        "flags": attempt.flag_list,
        "reason": attempt.reason,
    }
    if attempt.corrects_id is not None:
        found["corrects"] = str(attempt.corrects_id)
    return found


@bp.post("/tasks/<task_id>/attempts")
def record_attempt(task_id: str) -> ResponseReturnValue:
    body, _ = p.read(m.NewAttempt)
    attempt = claimed_work.record_attempt_for_caller(
        db(),
        actor=actor(),
        task_id=p.identifier(task_id, "task_id"),
        channel=body.channel,
        at=body.at,
        outcome=body.outcome,
        callback_at=body.callback_at,
        reason=body.reason,
        late_after=runtime().settings.late_entry,
        now=now(),
    )
    return jsonify(id=str(attempt.id)), 201


@bp.post("/tasks/<task_id>/close")
def close_task(task_id: str) -> ResponseReturnValue:
    body, _ = p.read(m.Closing)
    task = claimed_work.close_for_caller(
        db(),
        actor=actor(),
        task_id=p.identifier(task_id, "task_id"),
        resolution=body.resolution,
        now=now(),
    )
    return jsonify(id=str(task.id), status=task.status), 200


@bp.post("/tasks/<task_id>/confirm")
def confirm_task(task_id: str) -> ResponseReturnValue:
    """S1/S8: a supervisor confirms a duty to warn that reaches a contact who declined."""
    task = duty_to_warn.confirm(
        db(), actor=actor(), task_id=p.identifier(task_id, "task_id"), now=now()
    )
    return jsonify(id=str(task.id), status=task.status, held=False), 200


@bp.post("/tasks/<task_id>/letter")
def record_letter(task_id: str) -> ResponseReturnValue:
    """seeds/001 "Massachusetts": the letter printed and mailed; 422 naming why not."""
    delivery = letters.mailed_for_caller(
        db(),
        runtime().outward(),
        actor=actor(),
        task_id=p.identifier(task_id, "task_id"),
        now=now(),
    )
    return jsonify(id=str(delivery.id)), 201
