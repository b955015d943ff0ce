"""A database blip costs nothing (issue 21 finding 17).

Dead pooled connections are found before use (`pool_pre_ping`, outreach/db.py). A connection
that dies during a request (a terminated backend, a database restart) fails that request's
transaction, which the server has rolled back: the request is run once more on a fresh
connection where that is safe, and otherwise answered 503, never 500.

Safe to run twice:
- reads (GET, HEAD): at worst an audited read is audited twice;
- Twilio's webhooks: each stores its callback under the provider's natural key in the same
  transaction as its effect, so a second run after a commit that did land finds the key taken
  and changes nothing. Twilio never retries a 500 (nor a 503): a webhook given up on is lost,
  so a webhook is run once more after a short wait, long enough for a restart to finish, and
  only then answered 503, which sends Twilio to the number's fallback URL where one is set.

Not retried: a form or API write whose commit may have landed before the connection died; it
is answered 503 and the user sends it again (a web form shows what was kept).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, g, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger("outreach.reconnect")

# SQLSTATE classes of a lost connection: 08 connection exception, 57P operator intervention
# (a terminated backend, a shutdown, "cannot connect now" while the server starts).
LOST_STATES = ("08", "57P")
# How long a webhook waits for the database to come back before its one more run.
WEBHOOK_PATIENCE_SECONDS = 3.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def connection_lost(exc: BaseException) -> bool:
    """The database connection died or could not be made; not a refusal of the SQL itself."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig  # type: ignore[assignment]
    state = getattr(exc, "sqlstate", "none given")
    # psycopg gives no SQLSTATE when no server answered at all (refused, reset, gone).
    return state is None or (isinstance(state, str) and state.startswith(LOST_STATES))


def init_app(app: Flask) -> None:
    """Guard the two steps of every request that touch the database: the before-request
    checks (a token, a signature, sign-in) and the view."""
    app.preprocess_request = _once_more_if_lost(app.preprocess_request)  # type: ignore[method-assign]
    app.dispatch_request = _once_more_if_lost(app.dispatch_request)  # type: ignore[method-assign]


def _once_more_if_lost(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except Exception as exc:
            if not connection_lost(exc):
                raise
            _forget_the_session()
            if not _safe_to_run_again():
                log.warning("database connection lost during %s; answered 503", request.path)
                raise ServiceUnavailable(retry_after=5) from None
        log.warning("database connection lost during %s; run once more", request.path)
        if request.path.startswith("/webhooks/"):
            time.sleep(_webhook_pause())
        try:
            return view(*args, **kwargs)
        except Exception as exc:
            if not connection_lost(exc):
                raise
            _forget_the_session()
            log.error("database unavailable for %s; answered 503", request.path)
            raise ServiceUnavailable(retry_after=5) from None

    return wrapper


def _safe_to_run_again() -> bool:
    return request.method in SAFE_METHODS or request.path.startswith("/webhooks/")


def _webhook_pause() -> float:
    return WEBHOOK_PATIENCE_SECONDS


def _forget_the_session() -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()  # its connection was invalidated: the pool never hands it out again
