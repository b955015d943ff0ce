"""The API's field types: each checks a value and states, in its JSON Schema, exactly that check.

One definition gives both the validation and the document, so a client (or a fuzzer) that
follows the document is never refused for the shape of a value (issue 23 item 7). What JSON
Schema cannot say (a rule that needs the database, or compares two fields) the services still
check, and the field's description says so.

Patterns are written so that Python's `re` (the check) and ECMA-262 (the document) read them
alike: explicit character classes, no `\\d`, `\\s` or `\\w`, and checked with fullmatch.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, PlainValidator

from outreach.domain import validation

# Python's str.strip() removes exactly these; a value of nothing else is blank.
BLANK = (
    "\\t\\n\\u000b\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000"
)
# Text a person typed: not blank, and no NUL (never meant, and PostgreSQL refuses it).
TEXT = f"^[^\\u0000]*[^\\u0000{BLANK}][^\\u0000]*$"

_YEAR = "20[0-9]{2}"  # validation.FIRST_DAY to LAST_DAY: 2000 to 2099
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP_DAY = "20(?:[02468][048]|[13579][26])-02-29"  # every fourth year, 2000 included
_DATE = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})"
DAY = f"^{_DATE}$"

_CLOCK = "(?:[01][0-9]|2[0-3]):[0-5][0-9]"
CLOCK = f"^{_CLOCK}$"
_TIME = f"{_CLOCK}(?::[0-5][0-9](?:\\.[0-9]{{1,6}})?)?"
_OFFSET = f"(?:Z|[+-]{_CLOCK})"
_AT_OR_WEST = "(?:Z|[+-]00:00|-" + _CLOCK + ")"
_AT_OR_EAST = "(?:Z|[+-]00:00|\\+" + _CLOCK + ")"
# Every date but the range's first and last day, spelt out: the document's pattern language
# has no look-ahead that every client's generator reads.
_NOT_FIRST = (
    "(?:01-(?:0[2-9]|[12][0-9]|3[01])|(?:0[3578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-9]))"
)
_NOT_LAST = (
    "(?:(?:0[13578]|10)-(?:0[1-9]|[12][0-9]|3[01])|12-(?:0[1-9]|[12][0-9]|30)"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_INNER = (
    f"(?:20(?:0[1-9]|[1-8][0-9]|9[0-8])-{_MONTH_DAY}"
    "|20(?:0[48]|[2468][048]|[13579][26])-02-29"
    f"|2000-{_NOT_FIRST}|2099-{_NOT_LAST})"
)
# RFC 3339 with an offset, whose UTC date lies in 2000 to 2099: on the first and last day of
# the range only an offset that keeps the instant inside it (validation.plausible_instant).
INSTANT = (
    f"^(?:{_INNER}T{_TIME}{_OFFSET}"
    f"|2000-01-01T{_TIME}{_AT_OR_WEST}"
    f"|2099-12-31T{_TIME}{_AT_OR_EAST})$"
)

_WEEKDAY = "(?:[Mm][Oo]|[Tt][Uu]|[Ww][Ee]|[Tt][Hh]|[Ff][Rr]|[Ss][Aa]|[Ss][Uu])"
_SPACE = f"[{BLANK}]*"
_WEEKDAY_UPPER = "(?:MO|TU|WE|TH|FR|SA|SU)"
WEEKDAYS = f"^{_SPACE}{_WEEKDAY}{_SPACE}(?:,{_SPACE}{_WEEKDAY}{_SPACE})*$"


# The group rules the document states: weekly on some days (every 1 to 4 weeks), daily (every
# 1 to 7 days), or monthly on the nth weekday (every 1 to 3 months), each with an optional
# COUNT. Every rule of these forms gives a session in any group's first year, whatever its
# start (tests/unit/test_api_fields.py). The planner accepts other RFC 5545 rules too
# (validation.recurrence_rule); whether one of those meets at all depends on the start date,
# which no JSON Schema can state, so the document promises only these.
_COUNT = "(?:;COUNT=[1-9][0-9]{0,2})?"
_DAY_LIST = f"{_WEEKDAY_UPPER}(?:,{_WEEKDAY_UPPER})*"
RRULE = (
    f"^(?:FREQ=WEEKLY(?:;INTERVAL=[1-4])?(?:;BYDAY={_DAY_LIST})?{_COUNT}"
    f"|FREQ=DAILY(?:;INTERVAL=[1-7])?{_COUNT}"
    f"|FREQ=MONTHLY(?:;INTERVAL=[1-3])?;BYDAY=(?:[1-4]|-1){_WEEKDAY_UPPER}{_COUNT})$"
)
SHARED = "x-shared-schema"


class Refused(ValueError):
    """The value breaks its field's rule; the field is named in the 422 answer."""


class Rule:
    """A field's check and the JSON Schema that states it, for use in `Annotated[...]`."""

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return PlainValidator(self.check).__get_pydantic_core_schema__(source, handler)

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return self.schema()


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Refused("must be a string")
    return value


@dataclass(frozen=True)
class Text(Rule):
    """Text of at most `max_length` characters that matches `pattern`, stripped of surrounding
    space (a value of space alone is refused by the default pattern)."""

    max_length: int = 200
    pattern: str = TEXT
    description: str = ""
    # Only where the document states fewer values than the service takes (a group's rule):
    # the pattern checked here, wider than the one stated.
    accepts: str = ""

    def check(self, value: Any) -> str:
        pattern = self.accepts or self.pattern
        if not re.fullmatch(pattern, _string(value)) or len(value) > self.max_length:
            raise Refused(f"must be text of at most {self.max_length} characters")
        return str(value).strip()

    def schema(self) -> dict[str, Any]:
        found = {"type": "string", "minLength": 1, "maxLength": self.max_length}
        return {**found, "pattern": self.pattern, **_described(self.description)}


@dataclass(frozen=True)
class OneOf(Rule):
    """One of a fixed list of words: a vocabulary's values, profile names, zone names."""

    values: tuple[str, ...]
    description: str = ""

    @classmethod
    def of(cls, words: Iterable[Any], description: str = "") -> OneOf:
        return cls(tuple(str(getattr(word, "value", word)) for word in words), description)

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.values:
            raise Refused("must be one of the listed values")
        return value

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.values), **_described(self.description)}


@dataclass(frozen=True)
class WholeNumber(Rule):
    minimum: int
    maximum: int

    def check(self, value: Any) -> int:
        # JSON has one kind of number: 90.0 is 90, as JSON Schema's "integer" says.
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise Refused("must be a whole number")
        if not self.minimum <= value <= self.maximum:
            raise Refused(f"must be from {self.minimum} to {self.maximum}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


class _Flag(Rule):
    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Refused("must be true or false")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class _Id(Rule):
    def check(self, value: Any) -> uuid.UUID:
        try:
            return uuid.UUID(_string(value))
        except ValueError:
            raise Refused("must be an id this service gave out") from None

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "uuid"}


class _Day(Rule):
    def check(self, value: Any) -> date:
        if not re.fullmatch(DAY, _string(value)):
            raise Refused("must be a date as YYYY-MM-DD from 2000 to 2099")
        return validation.plausible_day("date", date.fromisoformat(value))

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": DAY, **_described("a date as YYYY-MM-DD, 2000-2099")}


class _Instant(Rule):
    def check(self, value: Any) -> datetime:
        if not re.fullmatch(INSTANT, _string(value)):
            raise Refused("must be an RFC 3339 date-time with an offset, from 2000 to 2099")
        return validation.plausible_instant("at", datetime.fromisoformat(value))

    def schema(self) -> dict[str, Any]:
        about = "an RFC 3339 date-time with an offset whose UTC date lies in 2000-2099"
        return {"type": "string", "pattern": INSTANT, **_described(about)}


@cache
def time_zones() -> tuple[str, ...]:
    """IANA zone names as validation.timezone_name accepts them: an area and a place."""
    return tuple(sorted(zone for zone in available_timezones() if "/" in zone))


class _TimeZone(Rule):
    def check(self, value: Any) -> str:
        if not isinstance(value, str) or value not in _zone_set():
            raise Refused("must be an IANA time zone such as America/New_York")
        return value

    def schema(self) -> dict[str, Any]:
        # Some 400 names: stated once, in the document's components (openapi.py puts the
        # reference in place of this mark).
        return {SHARED: "TimeZone"}


@cache
def _zone_set() -> frozenset[str]:
    return frozenset(time_zones())


def time_zone_schema() -> dict[str, Any]:
    return {"enum": list(time_zones()), **_described("an IANA time zone such as America/New_York")}


def _described(description: str) -> dict[str, str]:
    return {"description": description} if description else {}


Flag = Annotated[bool, _Flag()]
Id = Annotated[uuid.UUID, _Id()]
Day = Annotated[date, _Day()]
Instant = Annotated[datetime, _Instant()]
TimeZone = Annotated[str, _TimeZone()]
Clock = Annotated[str, Text(5, CLOCK, "a time of day as HH:MM (24-hour)")]
