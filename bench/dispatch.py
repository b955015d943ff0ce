"""bench/dispatch: one dispatcher pass with many scheduled reminders and 1,000 due.

For each size it times the bare query that finds the due rows and a full `send_due` pass
(claim, every safety check again, render, send through a recording channel, settle),
measured in the same run, on an SQLite file. Nothing here is real data.

    .venv/bin/python bench/dispatch.py [--sizes 10000,100000] [--due 1000]
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

from bench import webhook_harness as h
from outreach import create_app
from outreach.domain.vocabulary import DeliveryKind, DeliveryStatus
from outreach.models import Delivery
from outreach.runtime import runtime
from outreach.services.delivery import due_texts
from outreach.services.delivery.outward import Outward
from outreach.settings import load_settings
from tests.fakes import RecordingChannel

NOW = datetime(2026, 11, 17, 23, 50, tzinfo=UTC)  # inside the demo-like window below


def run(size: int, due: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        env = h.environment(Path(tmp), f"sqlite:///{Path(tmp) / 'd.db'}", h.free_port())
        h.prepare(env, 0)
        rt = runtime(create_app(settings=load_settings(env)))
        with rt.session() as session:
            task_id, contact_id = _task(session)
            session.execute(
                insert(Delivery), [_row(n, n < due, task_id, contact_id) for n in range(size)]
            )
            session.commit()
            began = time.perf_counter()
            list(
                session.scalars(
                    select(Delivery.id).where(
                        Delivery.status == DeliveryStatus.PENDING, Delivery.due_at <= NOW
                    )
                )
            )
            bare = time.perf_counter() - began
            session.commit()
            channel = RecordingChannel()
            out = Outward(channel, rt.vault, rt.library, rt.settings)
            began = time.perf_counter()
            due_texts.send_due(session, out, NOW)
            full = time.perf_counter() - began
        rt.engine.dispose()
        return bare, full, len(channel.sent)


def _task(session: object) -> tuple[uuid.UUID, uuid.UUID]:
    from outreach.models import OutreachTask

    task = session.scalars(select(OutreachTask)).first()  # type: ignore[attr-defined]
    task.channels = ["voice", "sms"]
    return task.id, task.contact_id


def _row(n: int, is_due: bool, task_id: uuid.UUID, contact_id: uuid.UUID) -> dict[str, object]:
    due_at = NOW - timedelta(minutes=1) if is_due else NOW + timedelta(hours=1 + n % 500)
    return {
        "id": uuid.uuid4(),
        "task_id": task_id,
        "contact_id": contact_id,
        "kind": DeliveryKind.SMS,
        "script": "reminder",
        "language": "en",
        "status": DeliveryStatus.PENDING,
        "code": secrets.token_urlsafe(24),
        "due_at": due_at,
        "expires_at": due_at + timedelta(hours=2),
        "created_at": NOW,
        "permanent_failure": False,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--due", type=int, default=1000)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    for size in (int(s) for s in args.sizes.split(",")):
        bare, full, sent = run(size, args.due)
        print(
            f"{size:>7} scheduled, {args.due} due | due query {bare * 1000:8.1f} ms | "
            f"send_due {full * 1000:9.1f} ms = {full / args.due * 1000:6.2f} ms/reminder | "
            f"sent {sent} | ratio {full / bare:8.1f}"
        )


if __name__ == "__main__":
    main()
