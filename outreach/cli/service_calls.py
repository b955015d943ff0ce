"""How a command reaches the running application: its runtime, one service call at the runtime's
clock, and the one-line refusal an operator reads when a service says no."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click
from flask import current_app

from outreach.runtime import Runtime, runtime
from outreach.services.errors import ServiceError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Answer = TypeVar("Answer")


def current_runtime() -> Runtime:
    """Answer the runtime of the application the command runs in."""
    return runtime(current_app)


def fail(exc: ServiceError) -> NoReturn:
    """Stop the command with the service's refusal as its one line."""
    raise click.ClickException(exc.message) from None


def call(service: Callable[[Session, datetime], Answer]) -> Answer:
    """Run one service call in a session, at the runtime's clock; a refusal is one line."""
    rt = current_runtime()
    with rt.session() as session:
        try:
            return service(session, rt.clock.now())
        except ServiceError as exc:
            fail(exc)


def instant(text: str) -> datetime:
    """Parse an instant an operator typed; it must carry its offset (times are never naive)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("must be ISO 8601, e.g. 2026-11-17T18:00:00-05:00") from None
    if parsed.tzinfo is None:
        raise click.BadParameter("needs an offset, e.g. 2026-11-17T18:00:00-05:00")
    return parsed
