"""Reading JSON bodies: each reader names the field it refuses, for a 400/422 answer."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from outreach.services.errors import Invalid


def body_object(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid("the body must be a JSON object")
    return raw


def text(body: dict[str, Any], name: str, *, max_length: int = 200, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
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
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _bad()
    except ValueError:
        raise Invalid(f"{name} must be a date as YYYY-MM-DD", {name: "invalid"}) from None


def instant(body: dict[str, Any], name: str, *, required: bool = True) -> datetime | None:
    """An ISO 8601 date-time with an offset; a time without a zone is refused, not guessed."""
    value = body.get(name)
    if value is None and not required:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else _bad()
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise Invalid(f"{name} must be an ISO 8601 date-time with an offset", {name: "invalid"})
    return parsed


def identifier(value: object, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid(f"{name} must be an id this service gave out", {name: "invalid"}) from None


def _bad() -> Any:
    raise ValueError
