"""Reading JSON bodies through the API's models: 415 for a body of another type, 400 if it does
not parse, 422 naming each field the model refuses. No answer repeats a value sent."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import UnsupportedMediaType

from outreach.api.fields import Refused
from outreach.domain.validation import InvalidInput
from outreach.services.errors import Invalid

Model = TypeVar("Model", bound=BaseModel)
_PLAIN = re.compile("[a-z_]{1,40}")


def read(model: type[Model]) -> tuple[Model, dict[str, Any]]:
    """The body as `model` checks it, and the object as sent (for services that take changes
    as given); 422 naming every field at fault."""
    raw = json_body()
    return checked(model, raw), raw


def checked(model: type[Model], raw: Mapping[str, Any]) -> Model:
    """An object as `model` checks it; 422 naming every field at fault, never its value."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        fields = {_name(error["loc"]): _fault(error) for error in exc.errors()}
        named = ", ".join(sorted(fields))
        raise Invalid(f"not valid: {named} (see /api/v1/openapi.json)", fields) from None


def json_body() -> dict[str, Any]:
    """Read the request's JSON object: 415 for a body of another type, 400 if it does not
    parse, 422 if it is not an object (or there is no body at all)."""
    if not request.is_json:
        if request.mimetype or request.get_data(cache=True):
            raise UnsupportedMediaType()
        return body_object(None)
    return body_object(request.get_json())  # malformed JSON or UTF-8 raises BadRequest


def body_object(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid("the body must be a JSON object")
    return raw


def identifier(value: object, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid(f"{name} must be an id this service gave out", {name: "invalid"}) from None


def _name(loc: tuple[int | str, ...]) -> str:
    """preferences.safe_times[0].start: where in the body, never what was in it. An unknown
    field is named only when its name is a plain word, so a key cannot carry a number or a
    note into the answer or the log."""
    name = ""
    for part in loc:
        if isinstance(part, str) and not _PLAIN.fullmatch(part):
            part = "(unknown field)"
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def _fault(error: Mapping[str, Any]) -> str:
    """The rule broken, in the field types' own words (never the value sent)."""
    if error["type"] == "missing":
        return "required"
    if error["type"] == "extra_forbidden":
        return "unknown"
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, Refused | InvalidInput):
        return str(cause)
    return "invalid"
