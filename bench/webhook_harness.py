"""A real server on loopback and signed Twilio callbacks against it, for bench/webhooks and the
crash test. Only 127.0.0.1 is ever contacted; every loop is bounded in count and time."""

from __future__ import annotations

import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import text
from twilio.request_validator import RequestValidator

from outreach.services.records.audit import SYSTEM

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NOW = datetime(2026, 11, 17, 20, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Callback:
    path: str
    fields: dict[str, str]

    @property
    def key(self) -> str:
        return self.path + "|" + urlencode(sorted(self.fields.items()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(instance: Path, database_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "TWILIO_"))}
    env.update(
        {
            "OUTREACH_INSTANCE_PATH": str(instance),
            "OUTREACH_DATABASE_URL": database_url,
            "OUTREACH_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "OUTREACH_LOG_LEVEL": "ERROR",
            "OUTREACH_CHANNEL": "simulator",
        }
    )
    return env


def fresh_postgres(name: str) -> str:
    """A database of the benchmark's own on the local server, dropped and made anew."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def prepare(env: dict[str, str], deliveries: int) -> tuple[str, list[str]]:
    """Migrate, create one contact with an open task, and `deliveries` sent safe-check calls.

    Answer the webhook token and the deliveries' opaque codes."""
    from outreach import create_app
    from outreach.db import migrate
    from outreach.domain.vocabulary import DeliveryKind, DeliveryStatus
    from outreach.models import Delivery
    from outreach.runtime import runtime
    from outreach.services.contact_persons import contacts, preferences
    from outreach.services.intake import events, programs
    from outreach.settings import load_settings

    app = create_app(settings=load_settings(env))
    rt = runtime(app)
    migrate(rt.engine)
    codes = [uuid.uuid4().hex for _ in range(deliveries)]
    with rt.session() as session:
        program = programs.create_program(
            session,
            key="bench",
            name="Bench",
            now=NOW,
            protocol="georgia_fvip",
            timezone="America/New_York",
            actor=SYSTEM,
        )
        participant = programs.add_participant(
            session,
            program_id=program.id,
            group_id=None,
            reference="B-1",
            now=NOW,
            actor=SYSTEM,
        )
        contacts.add_contact(
            session,
            rt.vault,
            actor=SYSTEM,
            participant_id=participant.id,
            name="Avery Sample",
            phone="+14045550123",
            relationship="partner",
            preferences=preferences.Preferences(consent="consented", sms=True),
            now=NOW,
        )
        _, [task] = events.report_event(
            session,
            rt.profiles,
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="enrolled",
            at=NOW,
            severity="routine",
            now=NOW,
        )
        session.add_all(
            Delivery(
                task_id=task.id,
                contact_id=task.contact_id,
                kind=DeliveryKind.SAFE_CHECK_CALL,
                script="safe_check_prompt",
                language="en",
                status=DeliveryStatus.SENT,
                code=code,
                provider_sid=f"CA{code}",
                due_at=NOW,
                sent_at=NOW,
                created_at=NOW,
            )
            for code in codes
        )
        session.commit()
    rt.engine.dispose()
    return rt.settings.webhook_token, codes


def callbacks_for(code: str) -> list[Callback]:
    """One machine-answered safe-check call, as Twilio would report it."""
    sid = f"CA{code}"
    status = f"/webhooks/twilio/voice/status?c={code}&leg=contact"
    return [
        Callback(status, {"CallSid": sid, "CallStatus": "ringing"}),
        Callback(status, {"CallSid": sid, "CallStatus": "in-progress"}),
        Callback(
            f"/webhooks/twilio/voice/amd?c={code}", {"CallSid": sid, "AnsweredBy": "machine_start"}
        ),
        Callback(status, {"CallSid": sid, "CallStatus": "completed"}),
    ]


def with_duplicates(stream: list[Callback], share: float, seed: int = 7) -> list[Callback]:
    rng = random.Random(seed)
    out: list[Callback] = []
    for callback in stream:
        out.append(callback)
        if rng.random() < share:
            out.append(rng.choice(out))
    return out


class Client:
    """A keep-alive HTTP client that signs each callback for the server's public URL."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.base = port, f"http://127.0.0.1:{port}"
        self.validator = RequestValidator(token)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def post(self, callback: Callback) -> int:
        body = urlencode(callback.fields)
        signature = self.validator.compute_signature(self.base + callback.path, callback.fields)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        try:
            self.conn.request("POST", callback.path, body, headers)
            response = self.conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            return 0


@contextmanager
def server(
    app: str, env: dict[str, str], port: int, workers: int = 2
) -> Iterator[subprocess.Popen[bytes]]:
    process = start(app, env, port, workers)
    try:
        yield process
    finally:
        stop(process)


def start(app: str, env: dict[str, str], port: int, workers: int = 2) -> subprocess.Popen[bytes]:
    """Start gunicorn and return once every worker has loaded the application: the port
    accepts connections long before that, and a worker still importing would be measured."""
    ready = Path(tempfile.mkdtemp(prefix="bench-ready-"))
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn, on loopback
        [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "-c",
            str(ROOT / "bench" / "gunicorn_ready.py"),
            "--log-level",
            "error",
            app,
        ],
        env={**env, "BENCH_READY_DIR": str(ready)},
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # bounded: at most 60 s
            if len(list(ready.iterdir())) >= workers and _accepts(port):
                return process
            time.sleep(0.1)
    finally:
        shutil.rmtree(ready, ignore_errors=True)
    stop(process)
    raise RuntimeError("the server did not start within 60 s")


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    process.wait(timeout=30)


@dataclass(frozen=True)
class Stored:
    """What the database holds after a run."""

    events: int
    attempts: int
    keys: set[str]
    unapplied: int


def stored_state(env: dict[str, str]) -> Stored:
    from outreach.db import make_engine

    engine = make_engine(env["OUTREACH_DATABASE_URL"])
    with engine.connect() as conn:
        keys = {row[0] for row in conn.execute(text("SELECT natural_key FROM webhook_event"))}
        attempts = conn.execute(text("SELECT count(*) FROM attempt")).scalar_one()
        unapplied = conn.execute(
            text("SELECT count(*) FROM webhook_event WHERE applied_at IS NULL")
        ).scalar_one()
    engine.dispose()
    return Stored(len(keys), int(attempts), keys, int(unapplied))


def apply_inbox(env: dict[str, str]) -> tuple[int, float]:
    """Run the inbox applier as the scheduler would, until nothing is left: (applied, seconds)."""
    from outreach import create_app
    from outreach.runtime import runtime
    from outreach.scheduler.jobs import apply_callbacks
    from outreach.settings import load_settings

    rt = runtime(create_app(settings=load_settings(env)))
    began = time.monotonic()
    applied = apply_callbacks(rt, rt.clock.now())
    elapsed = time.monotonic() - began
    rt.engine.dispose()
    return applied, elapsed


@contextmanager
def applier(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """The scheduler's inbox applier in a process of its own, as in production: every
    APPLY_SECONDS it applies what the webhooks stored, under the leadership lock."""
    ready = Path(tempfile.mkdtemp(prefix="bench-applier-")) / "ready"
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.webhook_harness", "apply-every", str(ready)],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        for _ in range(600):  # bounded: it loads the application first, at most 60 s
            if ready.exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        yield process
    finally:
        stop(process)
        shutil.rmtree(ready.parent, ignore_errors=True)


def _apply_every(ready: Path, limit_seconds: float = 600) -> None:
    from bench import lock_holds
    from outreach import create_app
    from outreach.runtime import runtime
    from outreach.scheduler.runner import APPLY_SECONDS, Leadership, apply_callbacks_if_leader
    from outreach.settings import load_settings

    lock_holds.record("applier")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # exit cleanly: holds are written
    rt = runtime(create_app(settings=load_settings(dict(os.environ))))
    leadership = Leadership(rt.engine, rt.settings.instance_path)
    ready.touch()
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        apply_callbacks_if_leader(rt, leadership)
        time.sleep(APPLY_SECONDS)


def natural_key(callback: Callback) -> str:
    """The inbox key the app stores for a callback (webhooks/voice.py)."""
    fields = callback.fields
    if "/voice/amd" in callback.path:
        return f"amd:{fields['CallSid']}:{fields['AnsweredBy']}"
    return f"status:contact:{fields['CallSid']}:{fields['CallStatus']}"


if __name__ == "__main__" and sys.argv[1:2] == ["apply-every"]:
    _apply_every(Path(sys.argv[2]))
