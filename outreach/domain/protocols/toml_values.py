"""Typed values read out of a parsed TOML table, each naming its key path when wrong.

`Invalid` carries the path of the offending key (("on", "absent", 0, "channels")), so
loading can find its line in the file.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any, TypeVar

from outreach.domain.vocabulary import Channel, EventType, TaskReason

KeyPath = tuple[str | int, ...]
_E = TypeVar("_E", EventType, TaskReason, Channel)


class Invalid(Exception):
    """A value of a profile is wrong; `path` is the key path that holds it."""

    def __init__(self, path: KeyPath, reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason


def known_keys(table: dict[str, Any], allowed: frozenset[str], path: KeyPath) -> None:
    """Refuse a key the section does not know, listing the ones it does."""
    for key in table:
        if key not in allowed:
            raise Invalid(
                (*path, key), f"unknown key {key!r} (known: {', '.join(sorted(allowed))})"
            )


def table_at(data: dict[str, Any], key: str, path: KeyPath) -> dict[str, Any]:
    """Answer the table under `key` (empty when absent)."""
    return as_table(data.get(key, {}), (*path, key))


def as_table(value: Any, path: KeyPath) -> dict[str, Any]:
    """Answer `value` as a table, or refuse it."""
    if not isinstance(value, dict):
        raise Invalid(path, "expected a table")
    return value


def text_at(data: dict[str, Any], key: str, path: KeyPath, default: str | None = None) -> str:
    """Answer the non-empty string under `key`."""
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise Invalid((*path, key), f"{key} must be a non-empty string")
    return value


def flag_at(data: dict[str, Any], key: str, path: KeyPath, *, default: bool) -> bool:
    """Answer the true-or-false value under `key`."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise Invalid((*path, key), f"{key} must be true or false")
    return value


def whole_at(
    data: dict[str, Any],
    key: str,
    path: KeyPath,
    *,
    low: int,
    high: int,
    default: int | None = None,
) -> int:
    """Answer the whole number under `key`, within low..high; required without a default."""
    if key not in data and default is None:
        raise Invalid((*path, key), f"{key} is required")
    return whole(data.get(key, default), (*path, key), low=low, high=high)


def whole(value: Any, path: KeyPath, *, low: int, high: int) -> int:
    """Answer `value` as a whole number within low..high (a boolean is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(path, f"{path[-1]} must be a whole number from {low} to {high}")
    return int(value)


def member(enum: type[_E], value: Any, path: KeyPath) -> _E:
    """Answer `value` as a member of `enum`, or refuse it listing the members."""
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(m.value for m in enum)
        raise Invalid(path, f"{value!r} is not one of: {known}") from None


def channels_at(
    data: dict[str, Any], key: str, path: KeyPath, *, required: bool
) -> tuple[Channel, ...]:
    """Answer the list of channels under `key`."""
    raw = data.get(key, [] if not required else None)
    if not isinstance(raw, list) or (required and not raw):
        raise Invalid((*path, key), f'{key} must be a list such as ["voice"]')
    return tuple(member(Channel, c, (*path, key, i)) for i, c in enumerate(raw))


def time_at(data: dict[str, Any], key: str, path: KeyPath, default: time) -> time:
    """Answer the "HH:MM" time under `key`, or `default` when absent."""
    return clock(data[key], (*path, key)) if key in data else default


def clock(value: Any, path: KeyPath) -> time:
    """Answer an "HH:MM" text as a time of day."""
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise Invalid(path, 'times are written "HH:MM"')
    return time.fromisoformat(value)
