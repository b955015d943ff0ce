"""The address throttle holds across gunicorn's workers (issue 21 finding 9; ASVS 6.3.1).

A real `gunicorn -w 2` on a free loopback port, on a SQLite file and on PostgreSQL. Sign-in
attempts go two at a time, so both workers answer them (each answer's worker is read from
gunicorn's access log). When each worker counted on its own, the limit's worth of failures
split over two workers left each below it, and the right password then got in.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import requests
from sqlalchemy.orm import Session

from bench import webhook_harness as h
from outreach.domain.vocabulary import Role
from outreach.runtime import Runtime
from outreach.services.staff.auth import CLIENT_FAILURES
from tests.conftest import NOW, engine_url
from tests.factories import PASSWORD, make_program, make_user

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sign_in(port: int, username: str, password: str) -> int:
    """One attempt as a browser makes it: the form (for its CSRF token), then the post."""
    with requests.Session() as browser:
        base = f"http://127.0.0.1:{port}"
        form = browser.get(f"{base}/login", timeout=30)
        match = CSRF.search(form.text)
        assert match, "the login form carries a CSRF token"
        data = {"username": username, "password": password, "csrf_token": match.group(1)}
        answer = browser.post(f"{base}/login", data=data, allow_redirects=False, timeout=30)
        return answer.status_code


def _in_pairs(port: int, attempts: list[tuple[str, str]]) -> list[int]:
    """Two attempts at once, so that while one worker hashes a password the other answers."""
    statuses: list[int] = [0] * len(attempts)

    def attempt(n: int) -> None:
        statuses[n] = _sign_in(port, *attempts[n])

    for start in range(0, len(attempts), 2):
        pair = [threading.Thread(target=attempt, args=(n,)) for n in (start, start + 1)]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join(timeout=60)
    return statuses


def _workers_that_answered(log: Path) -> set[str]:
    return {line.split()[0] for line in log.read_text().splitlines() if "POST /login" in line}


def test_the_address_limit_holds_across_two_gunicorn_workers(
    own_runtime: Runtime, test_environ: dict[str, str], tmp_path: Path
) -> None:
    with own_runtime.session() as db:
        username = _liaison(db)
    port = h.free_port()
    log = tmp_path / "access.log"
    env = {
        **h.environment(tmp_path, engine_url(own_runtime.engine), port),
        **{k: v for k, v in test_environ.items() if k != "OUTREACH_INSTANCE_PATH"},
        "GUNICORN_CMD_ARGS": f"--access-logfile {log} --access-logformat '%(p)s %(r)s %(s)s'",
    }
    with h.server("outreach:create_app()", env, port, workers=2):
        failures = [(f"nobody-{n}", "a wrong password") for n in range(CLIENT_FAILURES)]
        assert _in_pairs(port, failures) == [401] * CLIENT_FAILURES
        assert len(_workers_that_answered(log)) == 2, "both workers counted failures"
        right = [(username, PASSWORD)] * 4
        assert _in_pairs(port, right) == [401] * 4, "the limit holds on every worker"


def _liaison(db: Session) -> str:
    return make_user(db, Role.LIAISON, [make_program(db, now=NOW)], now=NOW).username
