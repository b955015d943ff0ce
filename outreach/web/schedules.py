"""A group's schedule in the words people use (issue 22 item 6): "Mondays and Thursdays,
18:00 to 20:00, Denver time", never the rule text ("FREQ=WEEKLY;BYDAY=MO,TH").

Covers what programs set: daily, weekly (every week or every n weeks) on named days, and
monthly on the nth weekday. Any other rule is shown as "a custom schedule" with its text, so
nothing is ever said that the rule does not mean.
"""

from __future__ import annotations

from datetime import time

DAYS = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
KNOWN = frozenset({"FREQ", "INTERVAL", "BYDAY", "WKST"})


def in_words(rule: str, start: time, minutes: int, zone: str) -> str:
    """The schedule as a sentence: which days, from when to when, in whose time."""
    end = (start.hour * 60 + start.minute + minutes) % (24 * 60)
    place = zone.rsplit("/", 1)[-1].replace("_", " ")
    return f"{_days(rule)}, {start:%H:%M} to {end // 60:02d}:{end % 60:02d}, {place} time"


def _days(rule: str) -> str:
    parts = _parts(rule)
    if parts is None:
        return f"A custom schedule ({rule})"
    freq, interval, days = parts
    if freq == "DAILY" and not days:
        return "Every day" if interval == 1 else f"Every {interval} days"
    if freq == "WEEKLY" and days and all(d in DAYS for d in days):
        names = [DAYS[d] + "s" for d in sorted(days, key=list(DAYS).index)]
        if interval == 1:
            return _joined(names)
        every = "Every other week" if interval == 2 else f"Every {interval} weeks"
        return f"{every} on {_joined(names)}"
    if freq == "MONTHLY" and len(days) == 1 and interval == 1:
        found = _nth_weekday(days[0])
        if found:
            return f"The {found} of each month"
    return f"A custom schedule ({rule})"


def _parts(rule: str) -> tuple[str, int, list[str]] | None:
    try:
        fields = dict(part.split("=", 1) for part in rule.upper().split(";") if part)
        interval = int(fields.get("INTERVAL", "1"))
    except ValueError:
        return None
    if set(fields) - KNOWN or "FREQ" not in fields or interval < 1:
        return None
    days = [d for d in fields.get("BYDAY", "").split(",") if d]
    return fields["FREQ"], interval, days


def _nth_weekday(code: str) -> str | None:
    day, number = code[-2:], code[:-2]
    try:
        nth = int(number)
    except ValueError:
        return None
    if day not in DAYS or nth not in ORDINALS:
        return None
    return f"{ORDINALS[nth]} {DAYS[day]}"


def _joined(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
