"""Pictures drawn on the server as SVG shapes: the task's week and the supervisor's charts.

Only geometry lives here; templates turn shapes into <rect>/<circle> with a <title> each,
and app.css colours them (the CSP forbids inline styles and scripts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask_babel import format_date, gettext, lazy_gettext

from outreach.services.attempts.call_panel import Week
from outreach.web.language.stored_words import words

FIRST_HOUR, LAST_HOUR = 6, 23
HOUR_WIDTH, ROW_HEIGHT, LABEL_WIDTH, TOP = 44, 34, 70, 22
# Tooltips and labels in the reader's language, stored values in words (issue 22 item 8).
DAY_NAMES = (
    lazy_gettext("Mon"),
    lazy_gettext("Tue"),
    lazy_gettext("Wed"),
    lazy_gettext("Thu"),
    lazy_gettext("Fri"),
    lazy_gettext("Sat"),
    lazy_gettext("Sun"),
)


@dataclass(frozen=True)
class Shape:
    kind: str  # the CSS class: calling, safe, session, cancelled, window, attempt, now, bar
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Picture:
    width: int
    height: int
    shapes: list[Shape]
    labels: list[tuple[float, float, str]]


def week_picture(week: Week, now: datetime) -> Picture:
    """Seven rows (days) by the hours from 06:00 to 23:00, in the contact's zone."""
    shapes: list[Shape] = []
    opens, closes = week.calling
    shapes.extend(
        _span("calling", day, opens, closes, gettext("calling hours")) for day in range(7)
    )
    for day, safe_from, safe_to in week.safe_times:
        safe = gettext("a time the contact named as safe")
        shapes.append(_span("safe", day, safe_from, safe_to, safe))
    for begins, ends, cancelled in week.sessions:
        kind = "cancelled" if cancelled else "session"
        title = gettext("group session (cancelled)") if cancelled else gettext("group session")
        shapes.extend(_moments(week, kind, begins, ends, title))
    for window in week.windows:
        title = gettext("proposed window: %(kind)s", kind=words(window.kind))
        shapes.extend(_moments(week, "window", window.start, window.end, title))
    for at, outcome in week.attempts:
        shapes.extend(
            _moments(
                week,
                "attempt",
                at,
                at + timedelta(minutes=8),
                gettext("attempt: %(outcome)s", outcome=words(outcome)),
            )
        )
    shapes.extend(_moments(week, "now", now, now + timedelta(minutes=3), gettext("now")))
    return Picture(_width(), TOP + 7 * ROW_HEIGHT + 4, shapes, _week_labels(week))


def _x(moment: time) -> float:
    hours = moment.hour + moment.minute / 60
    return LABEL_WIDTH + (min(max(hours, FIRST_HOUR), LAST_HOUR) - FIRST_HOUR) * HOUR_WIDTH


def _span(kind: str, day: int, start: time, end: time, title: str) -> Shape:
    x0, x1 = _x(start), _x(end) if end > start else _x(time(23, 59))
    return Shape(kind, x0, TOP + day * ROW_HEIGHT + 2, max(x1 - x0, 0), ROW_HEIGHT - 4, title)


def _moments(week: Week, kind: str, start: datetime, end: datetime, title: str) -> list[Shape]:
    """One shape per day the span touches, clipped to the week and to the hours shown."""
    local_start, local_end = start.astimezone(week.zone), end.astimezone(week.zone)
    shapes = []
    for day in range(7):
        day_start = week.start + timedelta(days=day)
        lo, hi = max(local_start, day_start), min(local_end, day_start + timedelta(days=1))
        if lo >= hi:
            continue
        upper = (
            hi.timetz().replace(tzinfo=None) if hi < day_start + timedelta(days=1) else time(23, 59)
        )
        shape = _span(kind, day, lo.timetz().replace(tzinfo=None), upper, title)
        shapes.append(_inset(shape, kind))
    return shapes


def _inset(shape: Shape, kind: str) -> Shape:
    # Sessions and windows sit inside the row so the bands behind them stay visible.
    pad = {"session": 6, "cancelled": 6, "window": 10, "attempt": 3, "now": 0}.get(kind, 0)
    width = max(shape.width, 3)
    return Shape(kind, shape.x, shape.y + pad, width, shape.height - 2 * pad, shape.title)


def _width() -> int:
    return LABEL_WIDTH + (LAST_HOUR - FIRST_HOUR) * HOUR_WIDTH + 10


def _week_labels(week: Week) -> list[tuple[float, float, str]]:
    labels = []
    for day in range(7):
        date = format_date((week.start + timedelta(days=day)).date(), "d MMM")
        labels.append(
            (4.0, TOP + day * ROW_HEIGHT + ROW_HEIGHT / 2 + 4, f"{DAY_NAMES[day]} {date}")
        )
    for hour in range(FIRST_HOUR, LAST_HOUR + 1, 2):
        labels.append((_x(time(hour)) - 8, 14.0, f"{hour:02d}"))
    return labels


def bar_chart(values: list[tuple[str, float]], *, unit: str = "", width: int = 520) -> Picture:
    """Horizontal bars, one a row, each label in words on its left and its value on its
    right, so no label ever overlaps another (issue 22 item 5); the longest bar fills the
    width left after the labels."""
    top = max((v for _, v in values), default=0) or 1
    label_width, row, value_width = 190, 24, 60
    room = width - label_width - value_width
    shapes: list[Shape] = []
    labels: list[tuple[float, float, str]] = []
    for i, (raw, value) in enumerate(values):
        label = words(raw)
        y = 6 + i * row
        bar = room * value / top
        shapes.append(Shape("bar", label_width, y, bar, row - 8, f"{label}: {value:g}{unit}"))
        labels.append((4.0, float(y + row - 11), label[:28]))
        labels.append((float(label_width + bar + 6), float(y + row - 11), f"{value:g}{unit}"))
    return Picture(width, max(12 + len(values) * row, 40), shapes, labels)
