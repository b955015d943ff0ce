"""The OpenAPI 3.1 document of /api/v1, served without a token so tools can read it.

Written from the models in models.py (which also check every request) and the route table
below: the document states exactly what the API accepts (issue 23 item 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from outreach.api import bp
from outreach.api import models as m
from outreach.api.fields import SHARED, time_zone_schema

ERRORS = (
    ("400", "bad input"),
    ("401", "no valid token"),
    ("403", "outside the token's role or programs"),
    ("404", "no such record"),
    ("409", "conflict"),
    ("422", "a field is not valid"),
)
BODY_ERRORS = (("413", "the body is too large"), ("415", "the body is not JSON"))
# S14: recording an attempt or closing a task nobody holds claims it on the caller's behalf;
# both answer 409 while another liaison holds the claim.
UNDER_CLAIM = (
    " Done under the caller's claim: on a task nobody holds it claims the task for the caller"
    " (30 minutes, audited), and it is refused with 409 while another liaison holds it."
)


@dataclass(frozen=True)
class Operation:
    """One route of the API as the document states it."""

    method: str
    path: str
    summary: str
    answer: type[BaseModel]
    status: str = "201"
    body: type[BaseModel] | None = None
    many: bool = False  # the answer is a list of `answer`
    held: bool = False  # it may also answer 202: held until a supervisor confirms it (S1)
    description: str = ""
    query: list[dict[str, Any]] = field(default_factory=list)


ROUTES = (
    Operation(
        "post",
        "/programs",
        "Create a program run by a protocol profile",
        m.Created,
        body=m.NewProgram,
    ),
    Operation("post", "/groups", "Create a recurring group session", m.Created, body=m.NewGroup),
    Operation(
        "post",
        "/groups/{group_id}/cancellations",
        "Record a cancelled session",
        m.Created,
        body=m.Cancellation,
    ),
    Operation(
        "post",
        "/participants",
        "Enrol a participant by reference",
        m.Created,
        body=m.NewParticipant,
    ),
    Operation(
        "post",
        "/participants/{participant_id}/events",
        "Report a program event; the protocol decides the tasks",
        m.EventAnswer,
        body=m.ProgramEvent,
    ),
    Operation(
        "post", "/attendance", "Record attendance for a session", m.Created, body=m.Attendance
    ),
    Operation(
        "post",
        "/contacts",
        "Create a contact person (sealed at rest)",
        m.Created,
        body=m.NewContact,
    ),
    Operation(
        "patch",
        "/contacts/{contact_id}/preferences",
        "Record a new version of a contact's preferences",
        m.PreferencesAnswer,
        "200",
        body=m.PreferenceChanges,
        held=True,
    ),
    Operation(
        "put",
        "/contacts/{contact_id}/mailing-address",
        "Record the mailing address she named as safe for letters (sealed at rest)",
        m.MailingAddressAnswer,
        "200",
        body=m.MailingAddress,
        description="Her open letter tasks follow at once: with an address and her mail"
        " permission a letter may go; the address is never answered or logged.",
    ),
    Operation(
        "delete",
        "/contacts/{contact_id}/mailing-address",
        "Remove her safe mailing address: no letter can go, she is called instead",
        m.MailingAddressAnswer,
        "200",
    ),
    Operation(
        "post",
        "/opt-back-in/{request_id}/confirm",
        "A supervisor confirms a declined contact's request to consent again (S1)",
        m.ConsentAnswer,
        "200",
    ),
    Operation(
        "get",
        "/tasks",
        "Open tasks with their proposed call windows",
        m.Task,
        "200",
        many=True,
        query=[{"name": "status", "in": "query", "required": False, "schema": {"enum": ["open"]}}],
    ),
    Operation(
        "get",
        "/tasks/{task_id}/attempts",
        "The task's attempts with who entered them, when, and their flags (S14)",
        m.Attempt,
        "200",
        many=True,
        description="Every attempt as entered, corrected ones too (a correction names the"
        " attempt it `corrects`): when it happened, when and by whom it was entered, and"
        " flags for an odd time (S14).",
    ),
    Operation(
        "post",
        "/tasks/{task_id}/attempts",
        "Log an attempt (append-only)",
        m.Created,
        body=m.NewAttempt,
        description="A time in the future is refused (422); one before the task opened,"
        " or more than OUTREACH_LATE_ENTRY_HOURS (default 24) before it is entered, needs"
        " a `reason` (422 naming the field without one) and is flagged for the supervisor"
        " (S14)." + UNDER_CLAIM,
    ),
    Operation(
        "post",
        "/tasks/{task_id}/close",
        "Close a task; unreachable needs the minimum attempts (S5)",
        m.TaskStatus,
        "200",
        body=m.Closing,
        description="Refused (409) while a call a person answered on the task has no"
        " recorded outcome (S14)." + UNDER_CLAIM,
    ),
    Operation(
        "post",
        "/tasks/{task_id}/letter",
        "Record the completion or termination letter as printed and mailed",
        m.Created,
        description="Records the letter from the approved template in her language and a"
        " `letter_sent` attempt on the mail channel, which completes the letter task. Refused"
        " (422 naming `mail` or `mailing_address`, nothing written) when she has not allowed"
        " mail or named no safe address: she is called instead." + UNDER_CLAIM,
    ),
    Operation(
        "post",
        "/tasks/{task_id}/confirm",
        "A supervisor confirms a duty to warn for a declined contact (S1, S8)",
        m.Confirmed,
        "200",
    ),
)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(route: Operation) -> dict[str, Any]:
    answer = {"type": "array", "items": _ref(route.answer)} if route.many else _ref(route.answer)
    error = _json(_ref(m.Error))
    responses: dict[str, Any] = {route.status: {"description": "done", "content": _json(answer)}}
    if route.held:
        responses["202"] = {
            "description": "held until a supervisor confirms it",
            "content": _json(_ref(m.HeldAnswer)),
        }
    codes = ERRORS + (BODY_ERRORS if route.body else ())
    responses.update({code: {"description": text, "content": error} for code, text in codes})
    operation: dict[str, Any] = {"summary": route.summary, "responses": responses}
    if route.description:
        operation["description"] = route.description
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": _json(_ref(route.body))}
    if route.query:
        operation["parameters"] = route.query
    return operation


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in ROUTES:
        item = paths.setdefault(route.path, {})
        names = [part[1:-1] for part in route.path.split("/") if part.startswith("{")]
        if names:
            item["parameters"] = [
                {
                    "name": n,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                }
                for n in names
            ]
        item[route.method] = _operation(route)
    return paths


def _models() -> list[type[BaseModel]]:
    found = {route.answer for route in ROUTES} | {route.body for route in ROUTES if route.body}
    return sorted(found | {m.Error, m.HeldAnswer, m.Window}, key=lambda model: model.__name__)


def _tidy(node: Any) -> Any:
    """Pydantic's schema, as the document states it: shared schemas by reference, no
    generated titles, no `default: null` on a field that may be left out but not null."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    if SHARED in node:
        return {"$ref": f"#/components/schemas/{node[SHARED]}"}
    tidied: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            tidied[key] = {name: _tidy(schema) for name, schema in value.items()}
        elif not _generated(key, value, node):
            tidied[key] = _tidy(value)
    return tidied


def _generated(key: str, value: Any, node: dict[str, Any]) -> bool:
    """A title pydantic made up, or the null default of a field that may not be null."""
    if key == "title":
        return isinstance(value, str)
    return key == "default" and value is None and "anyOf" not in node


@cache
def _schemas() -> dict[str, Any]:
    _, found = models_json_schema(
        [(model, "validation") for model in _models()],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = _tidy(found["$defs"])
    schemas["TimeZone"] = time_zone_schema()
    return schemas


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "outreach", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
        "security": [{"bearer": []}],
        "paths": _paths(),
    }


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    return jsonify(document())
