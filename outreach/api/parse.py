"""Reading JSON bodies: each reader names the field it refuses, for a 400/422 answer."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from flask import request
from werkzeug.exceptions import UnsupportedMediaType

from outreach.domain import validation
from outreach.services.errors import Invalid

_YEARS = f"from {validation.FIRST_DAY.year} to {validation.LAST_DAY.year}"
_DAY_RULE = "{name} must be a date as YYYY-MM-DD " + _YEARS
_INSTANT_RULE = "{name} must be an ISO 8601 date-time with an offset, " + _YEARS


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


def text(body: dict[str, Any], name: str, *, max_length: int = 200, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    # A NUL is never text a person meant, and PostgreSQL refuses to store one.
    if not isinstance(value, str) or not value.strip() or len(value) > max_length or "\0" in value:
        raise Invalid(
            f"{name} is required text of at most {max_length} characters", {name: "invalid"}
        )
    return value.strip()


def whole_number(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"{name} must be a whole number", {name: "invalid"})
    return value


def day(body: dict[str, Any], name: str, *, required: bool = True) -> date | None:
    value = body.get(name)
    if value is None and not required:
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return validation.plausible_day(name, date.fromisoformat(value))
    except ValueError:
        raise Invalid(_DAY_RULE.format(name=name), {name: "invalid"}) from None


def instant(body: dict[str, Any], name: str, *, required: bool = True) -> datetime | None:
    """An ISO 8601 date-time with an offset; a time without a zone is refused, not guessed."""
    value = body.get(name)
    if value is None and not required:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else _bad()
        return validation.plausible_instant(name, parsed)
    except ValueError:
        raise Invalid(_INSTANT_RULE.format(name=name), {name: "invalid"}) from None


def identifier(value: object, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid(f"{name} must be an id this service gave out", {name: "invalid"}) from None


def _bad() -> Any:
    raise ValueError
