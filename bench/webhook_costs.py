"""bench/webhook_costs: what one status callback costs in-process, piece by piece.

The WSGI application is called directly (no HTTP, no test client), best of 3 rounds of 600:
the bare Flask endpoint; the application with a signed callback whose code names nothing;
a duplicate; a new status (one row, one fsync'd commit); and the inbox applier's cost per
stored row (calls that do not settle). Where bench/webhooks measures the whole server, this
says where a request's time goes.

    .venv/bin/python bench/webhook_costs.py [--rounds 3] [--requests 600]
"""

from __future__ import annotations

import argparse
import io
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder

from bench import webhook_harness as h
from bench.bare_app import app as bare_app

BASE = "http://127.0.0.1:5999"
Prepared = tuple[dict[str, Any], bytes]


def prepared(validator: RequestValidator, path: str, fields: dict[str, str]) -> Prepared:
    signature = validator.compute_signature(BASE + path, fields)
    builder = EnvironBuilder(
        path=path,
        method="POST",
        data=fields,
        headers={"X-Twilio-Signature": signature},
        base_url=BASE,
    )
    environ = builder.get_environ()
    return environ, environ["wsgi.input"].read()


def call(app: Callable[..., Iterable[bytes]], request: Prepared) -> None:
    environ = {**request[0], "wsgi.input": io.BytesIO(request[1])}
    answers: list[str] = []
    for _ in app(environ, lambda status, _headers, _exc=None: answers.append(status)):
        pass
    assert answers[0].startswith("200"), answers[0]


def best(
    label: str, app: Callable[..., Iterable[bytes]], requests: list[Prepared], n: int, rounds: int
) -> None:
    times = []
    for r in range(rounds):
        batch = requests[r * n : (r + 1) * n] if len(requests) > n else requests
        began = time.perf_counter()
        for i in range(n):
            call(app, batch[i % len(batch)])
        times.append((time.perf_counter() - began) / n * 1000)
    print(f"  {label:<56} {min(times):6.3f} ms  (spread {min(times):.3f}-{max(times):.3f})")


def run(name: str, url_for: Callable[[Path], str], n: int, rounds: int) -> None:
    from outreach import create_app
    from outreach.runtime import runtime
    from outreach.scheduler.jobs import apply_callbacks
    from outreach.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        env = h.environment(Path(tmp), url_for(Path(tmp)), 5999)
        token, codes = h.prepare(env, n * rounds + 1)
        app = create_app(settings=load_settings(env))
        rt = runtime(app)
        validator = RequestValidator(token)

        def status(code: str, value: str) -> Prepared:
            path = f"/webhooks/twilio/voice/status?c={code}&leg=contact"
            return prepared(validator, path, {"CallSid": f"CA{code}", "CallStatus": value})

        duplicate = [status(codes[-1], "ringing")]
        for _ in range(200):  # warm: connections pooled, statements compiled
            call(bare_app, duplicate[0])
            call(app, duplicate[0])
        print(name)
        best("bare Flask endpoint", bare_app, duplicate, n, rounds)
        unknown = [status("nothing-here", "ringing")]
        best("signed callback, unknown code (nothing written)", app, unknown, n, rounds)
        best("signed callback, a duplicate (nothing written)", app, duplicate, n, rounds)
        fresh = [status(code, "ringing") for code in codes[: n * rounds]]
        best("signed callback, new (one row, one fsync'd commit)", app, fresh, n, rounds)
        began = time.perf_counter()
        applied = apply_callbacks(rt, rt.clock.now())
        per_row = (time.perf_counter() - began) / max(applied, 1) * 1000
        label = "inbox applier, per stored row (no settling)"
        print(f"  {label:<56} {per_row:6.3f} ms  ({applied} rows)")
        rt.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=600, help="requests per round")
    args = parser.parse_args()
    run("sqlite", lambda d: f"sqlite:///{d / 'costs.db'}", args.requests, args.rounds)
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return
    run("postgresql", lambda _: h.fresh_postgres("outreach_costs"), args.requests, args.rounds)


if __name__ == "__main__":
    main()
