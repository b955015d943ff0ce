"""A group's schedule in the words people use (issue 22 item 6): "Mondays and Thursdays,
18:00 to 20:00, Denver time", never the rule text ("FREQ=WEEKLY;BYDAY=MO,TH").

Covers what programs set: daily, weekly (every week or every n weeks) on named days, and
monthly on the nth weekday. Any other rule is shown as "a custom schedule" with its text, so
nothing is ever said that the rule does not mean. Said in the reader's language (issue 22
item 8): "Lunes y jueves, de 18:00 a 20:00, hora de Denver".
"""

from __future__ import annotations

from datetime import time

from flask_babel import gettext, lazy_gettext

DAYS = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
# Days said in the plural ("Mondays": every Monday) and the nth weekday of a month.
EVERY = {
    "MO": lazy_gettext("Mondays"),
    "TU": lazy_gettext("Tuesdays"),
    "WE": lazy_gettext("Wednesdays"),
    "TH": lazy_gettext("Thursdays"),
    "FR": lazy_gettext("Fridays"),
    "SA": lazy_gettext("Saturdays"),
    "SU": lazy_gettext("Sundays"),
}
ONE = {
    "MO": lazy_gettext("Monday"),
    "TU": lazy_gettext("Tuesday"),
    "WE": lazy_gettext("Wednesday"),
    "TH": lazy_gettext("Thursday"),
    "FR": lazy_gettext("Friday"),
    "SA": lazy_gettext("Saturday"),
    "SU": lazy_gettext("Sunday"),
}
ORDINALS = {
    1: lazy_gettext("first"),
    2: lazy_gettext("second"),
    3: lazy_gettext("third"),
    4: lazy_gettext("fourth"),
    -1: lazy_gettext("last"),
}
KNOWN = frozenset({"FREQ", "INTERVAL", "BYDAY", "WKST"})


def in_words(rule: str, start: time, minutes: int, zone: str) -> str:
    """The schedule as a sentence: which days, from when to when, in whose time."""
    end = (start.hour * 60 + start.minute + minutes) % (24 * 60)
    place = zone.rsplit("/", 1)[-1].replace("_", " ")
    days = _days(rule)
    return str(
        gettext(
            "%(days)s, %(start)s to %(end)s, %(city)s time",
            days=days[:1].upper() + days[1:],
            start=f"{start:%H:%M}",
            end=f"{end // 60:02d}:{end % 60:02d}",
            city=place,
        )
    )


def _days(rule: str) -> str:
    parts = _parts(rule)
    if parts is None:
        return str(gettext("A custom schedule (%(rule)s)", rule=rule))
    freq, interval, days = parts
    if freq == "DAILY" and not days:
        return str(
            gettext("Every day") if interval == 1 else gettext("Every %(n)s days", n=interval)
        )
    if freq == "WEEKLY" and days and all(d in DAYS for d in days):
        names = [str(EVERY[d]) for d in sorted(days, key=list(DAYS).index)]
        if interval == 1:
            return _joined(names)
        if interval == 2:
            return str(gettext("Every other week on %(days)s", days=_joined(names)))
        return str(gettext("Every %(n)s weeks on %(days)s", n=interval, days=_joined(names)))
    if freq == "MONTHLY" and len(days) == 1 and interval == 1:
        found = _nth_weekday(days[0])
        if found:
            return found
    return str(gettext("A custom schedule (%(rule)s)", rule=rule))


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
    return str(gettext("The %(nth)s %(day)s of each month", nth=ORDINALS[nth], day=ONE[day]))


def _joined(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + str(gettext(" and ")) + names[-1]
