"""The OpenAPI 3.1 document of /api/v1, served without a token so tools can read it."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from outreach.api import bp
from outreach.domain.participation import Status as ParticipantStatus
from outreach.domain.planner import SkipReason
from outreach.domain.vocabulary import (
    STAFF_OUTCOMES,
    AttemptFlag,
    AttendanceStatus,
    Consent,
    EntryPoint,
    EventType,
    WindowKind,
)

ID = {"type": "string", "format": "uuid"}
DATE = {"type": "string", "format": "date"}
INSTANT = {"type": "string", "format": "date-time"}
CLOCK = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _text(max_length: int = 200) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


ERROR = _object(
    ["error"],
    error={"type": "string"},
    fields={"type": "object", "additionalProperties": {"type": "string"}},
)
CREATED = _object(["id"], id=ID)
SAFE_TIME = _object(["days", "start", "end"], days={"type": "string"}, start=CLOCK, end=CLOCK)
PREFERENCES = {
    "type": "object",
    "properties": {
        "consent": {"enum": [c.value for c in Consent]},
        "voice": {"type": "boolean"},
        "sms": {"type": "boolean"},
        "voicemail": {"type": "boolean"},
        "mail": {"type": "boolean"},
        "safe_times": {"type": "array", "items": SAFE_TIME},
        "only_during_group": {"type": "boolean"},
        "language": {"enum": ["en", "es"]},
        "timezone": {"type": ["string", "null"]},
        # S13: one of her program profile's rhythms or "none"; another answers 422 listing them.
        "cadence": {"type": ["string", "null"], "minLength": 1, "maxLength": 40},
        # S1: with consent "consented" for a contact who declined, what she said; the change
        # is then held until a supervisor confirms it (202 with the request's id).
        "her_words": {"type": "string", "minLength": 1, "maxLength": 2000},
    },
    "additionalProperties": False,
}
WINDOW = _object(
    ["task_id", "contact_id", "start", "end", "kind", "participant_present"],
    task_id=ID,
    contact_id=ID,
    start=INSTANT,
    end=INSTANT,
    kind={"enum": [k.value for k in WindowKind]},
    group_id={"type": ["string", "null"]},
    session_date={"type": ["string", "null"]},
    participant_present={"type": ["boolean", "null"]},
)


def _held_too(summary: str, body: dict[str, Any], answer: dict[str, Any], status: str) -> Any:
    """An operation that may also answer 202: held until a supervisor confirms it (S1)."""
    operation = _operation(summary, body, answer, status)
    held = _object(["id", "held", "request_id"], id=ID, held={"const": True}, request_id=ID)
    operation["responses"]["202"] = {
        "description": "held until a supervisor confirms it",
        "content": {"application/json": {"schema": held}},
    }
    return operation


def _operation(
    summary: str, body: dict[str, Any] | None, answer: dict[str, Any], status: str = "201"
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            status: {"description": "done", "content": {"application/json": {"schema": answer}}},
            **{
                code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
                for code, text in (
                    ("400", "bad input"),
                    ("401", "no valid token"),
                    ("403", "outside the token's role or programs"),
                    ("404", "no such record"),
                    ("409", "conflict"),
                    ("422", "a field is not valid"),
                )
            },
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
        for code, text in (("413", "the body is too large"), ("415", "the body is not JSON")):
            operation["responses"][code] = {
                "description": text,
                "content": {"application/json": {"schema": ERROR}},
            }
    return operation


def _path_id(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": ID}]


PATHS: dict[str, Any] = {
    "/programs": {
        "post": _operation(
            "Create a program run by a protocol profile",
            _object(
                ["key", "name", "protocol", "timezone"],
                key=_text(40),
                name=_text(),
                protocol=_text(60),
                timezone=_text(64),
            ),
            CREATED,
        )
    },
    "/groups": {
        "post": _operation(
            "Create a recurring group session",
            _object(
                [
                    "program",
                    "name",
                    "timezone",
                    "rrule",
                    "start_time",
                    "duration_minutes",
                    "starts_on",
                ],
                program=_text(40),
                name=_text(),
                timezone=_text(64),
                rrule=_text(500),
                start_time=CLOCK,
                duration_minutes={"type": "integer", "minimum": 15, "maximum": 600},
                starts_on=DATE,
                ends_on={"type": ["string", "null"], "format": "date"},
            ),
            CREATED,
        )
    },
    "/groups/{group_id}/cancellations": {
        "parameters": _path_id("group_id"),
        "post": _operation(
            "Record a cancelled session",
            _object(["date", "reason"], date=DATE, reason=_text()),
            CREATED,
        ),
    },
    "/participants": {
        "post": _operation(
            "Enrol a participant by reference",
            _object(
                ["program", "reference"],
                program=_text(40),
                group_id={"type": ["string", "null"], "format": "uuid"},
                reference=_text(80),
            ),
            CREATED,
        )
    },
    "/participants/{participant_id}/events": {
        "parameters": _path_id("participant_id"),
        "post": _operation(
            "Report a program event; the protocol decides the tasks",
            _object(
                ["type", "at"],
                type={"enum": [e.value for e in EventType]},
                at=INSTANT,
                severity={"enum": ["routine", "elevated", "high"]},
                # Required with discharge_planned, refused with any other type (422).
                discharge_on={"type": ["string", "null"], "format": "date"},
                # Required with progress_report_due, refused with any other type (422).
                report_date={"type": ["string", "null"], "format": "date"},
            ),
            # S7: "tasks" only for a caller who may read contacts in the program.
            _object(["id"], id=ID, tasks={"type": "array", "items": ID}),
        ),
    },
    "/attendance": {
        "post": _operation(
            "Record attendance for a session",
            _object(
                ["participant_id", "date", "status"],
                participant_id=ID,
                date=DATE,
                status={"enum": [s.value for s in AttendanceStatus]},
                checked_in_at={"type": ["string", "null"], "format": "date-time"},
            ),
            CREATED,
        )
    },
    "/contacts": {
        "post": _operation(
            "Create a contact person (sealed at rest)",
            _object(
                ["participant_id", "name", "phone", "relationship"],
                participant_id=ID,
                name=_text(120),
                phone=_text(40),
                language={"enum": ["en", "es"]},
                relationship={"enum": ["partner", "ex_partner", "spouse", "co_parent", "other"]},
                preferences=PREFERENCES,
            ),
            CREATED,
        )
    },
    "/contacts/{contact_id}/preferences": {
        "parameters": _path_id("contact_id"),
        "patch": _held_too(
            "Record a new version of a contact's preferences",
            PREFERENCES,
            _object(
                ["id", "version", "consent"],
                id=ID,
                version={"type": "integer"},
                consent={"type": "string"},
                cadence={"type": ["string", "null"]},
            ),
            "200",
        ),
    },
    "/opt-back-in/{request_id}/confirm": {
        "parameters": _path_id("request_id"),
        "post": _operation(
            "A supervisor confirms a declined contact's request to consent again (S1)",
            None,
            _object(
                ["id", "version", "consent"],
                id=ID,
                version={"type": "integer"},
                consent={"type": "string"},
            ),
            "200",
        ),
    },
}

TASK = _object(
    [
        "id",
        "contact_id",
        "reason",
        "due_by",
        "severity",
        "min_attempts",
        "attempts",
        "status",
        "participant_status",
        "windows",
    ],
    id=ID,
    contact_id=ID,
    reason={"type": "string"},
    due_by=INSTANT,
    severity={"type": "string"},
    min_attempts={"type": "integer"},
    attempts={"type": "integer"},
    status={"type": "string"},
    # S13: his real current status from the program events (issue 19); null without a record.
    participant_status={"enum": [*(s.value for s in ParticipantStatus), None]},
    participant_status_since={"type": ["string", "null"]},
    refused={"type": "array", "items": {"enum": [r.value for r in SkipReason]}},
    held={"type": "boolean"},
    windows={"type": "array", "items": WINDOW},
)
PATHS["/tasks"] = {
    "get": {
        **_operation(
            "Open tasks with their proposed call windows",
            None,
            {"type": "array", "items": TASK},
            "200",
        ),
        "parameters": [
            {"name": "status", "in": "query", "required": False, "schema": {"enum": ["open"]}}
        ],
    }
}
ATTEMPT = _object(
    ["id", "at", "entered_at", "entered_by", "entered_via", "channel", "outcome", "flags"],
    id=ID,
    at=INSTANT,
    entered_at=INSTANT,
    # The user who entered it; null when the service logged a call's outcome itself, or for an
    # attempt logged before who entered it was kept (entered_via "unknown").
    entered_by={"type": ["string", "null"], "format": "uuid"},
    entered_via={"enum": [e.value for e in EntryPoint]},
    channel={"type": "string"},
    outcome={"type": "string"},
    corrects=ID,
    flags={"type": "array", "items": {"enum": [f.value for f in AttemptFlag]}},
    reason={"type": ["string", "null"]},
)
# S14: recording an attempt or closing a task nobody holds claims it on the caller's behalf;
# both answer 409 while another liaison holds the claim.
UNDER_CLAIM = (
    " Done under the caller's claim: on a task nobody holds it claims the task for the caller"
    " (30 minutes, audited), and it is refused with 409 while another liaison holds it."
)
PATHS["/tasks/{task_id}/attempts"] = {
    "parameters": _path_id("task_id"),
    "get": {
        **_operation(
            "The task's attempts with who entered them, when, and their flags (S14)",
            None,
            {"type": "array", "items": ATTEMPT},
            "200",
        ),
        "description": "Every attempt as entered, corrected ones too (a correction names the"
        " attempt it `corrects`): when it happened, when and by whom it was entered, and flags"
        " for an odd time (S14).",
    },
    "post": {
        **_operation(
            "Log an attempt (append-only)",
            _object(
                ["channel", "at", "outcome"],
                channel={"enum": ["voice", "sms", "mail"]},
                at=INSTANT,
                outcome={"enum": [o.value for o in STAFF_OUTCOMES]},
                callback_at={"type": ["string", "null"], "format": "date-time"},
                reason={"type": ["string", "null"], "maxLength": 200},
            ),
            CREATED,
        ),
        "description": "A time in the future is refused (422); one before the task opened, or"
        " more than OUTREACH_LATE_ENTRY_HOURS (default 24) before it is entered, needs a"
        " `reason` (422 naming the field without one) and is flagged for the supervisor (S14)."
        + UNDER_CLAIM,
    },
}
PATHS["/tasks/{task_id}/close"] = {
    "parameters": _path_id("task_id"),
    "post": {
        **_operation(
            "Close a task; unreachable needs the minimum attempts (S5)",
            _object(["resolution"], resolution={"enum": ["completed", "unreachable"]}),
            _object(["id", "status"], id=ID, status={"type": "string"}),
            "200",
        ),
        "description": "Refused (409) while a call a person answered on the task has no"
        " recorded outcome (S14)." + UNDER_CLAIM,
    },
}
PATHS["/tasks/{task_id}/confirm"] = {
    "parameters": _path_id("task_id"),
    "post": _operation(
        "A supervisor confirms a duty to warn for a declined contact (S1, S8)",
        None,
        _object(
            ["id", "status", "held"], id=ID, status={"type": "string"}, held={"type": "boolean"}
        ),
        "200",
    ),
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "outreach", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Window": WINDOW, "Error": ERROR, "Attempt": ATTEMPT},
        },
        "security": [{"bearer": []}],
        "paths": PATHS,
    }


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    return jsonify(document())
