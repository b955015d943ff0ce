"""bench/soak: the people and systems that use the service during the run, each a thread.

Liaisons sign in with their second factor and work the queue through the forms (claim, open
the task, record an attempt); supervisors read their pages; a program system posts events on
the JSON API; the load balancer asks /healthz; Twilio posts signed status callbacks at a set
rate, some twice and some out of order. Every request is timed and kept; only 127.0.0.1 is
contacted and every loop ends when the run does.
"""

from __future__ import annotations

import http.client
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import requests
from twilio.request_validator import RequestValidator

from bench.soak_world import PASSWORD, Staff, World
from bench.webhook_harness import Callback, callbacks_for, natural_key
from outreach.security import totp

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CLAIMABLE = re.compile(r'action="/tasks/([0-9a-f-]{36})/claim"')
OUTCOMES = ("no_answer",) * 6 + ("busy",) * 3 + ("reached_safe",)


@dataclass(frozen=True)
class Request:
    label: str
    start: float
    end: float
    status: int  # 0: no answer at all (connection refused or cut)

    @property
    def failed(self) -> bool:
        return self.status == 0 or self.status >= 500


class Recorder:
    """Every request of the run, and the callbacks Twilio was told were received."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.acknowledged: set[str] = set()
        self.sent_callbacks = 0
        self._counting = threading.Lock()

    def count_callback(self) -> None:
        with self._counting:  # eight posting threads
            self.sent_callbacks += 1

    def add(self, label: str, start: float, status: int) -> None:
        self.requests.append(Request(label, start, time.time(), status))


class Browser:
    """One person's browser: cookies kept, redirects not followed, each request timed."""

    def __init__(self, base: str, recorder: Recorder) -> None:
        self.base, self.recorder = base, recorder
        self.http = requests.Session()
        self.csrf = ""

    def get(self, path: str, label: str) -> requests.Response | None:
        return self._send("GET", path, label, None)

    def post(self, path: str, label: str, data: dict[str, str]) -> requests.Response | None:
        return self._send("POST", path, label, {"csrf_token": self.csrf, **data})

    def _send(
        self, method: str, path: str, label: str, data: dict[str, str] | None
    ) -> requests.Response | None:
        start = time.time()
        try:
            response = self.http.request(
                method, self.base + path, data=data, allow_redirects=False, timeout=30
            )
        except requests.RequestException:
            self.recorder.add(label, start, 0)
            return None
        self.recorder.add(label, start, response.status_code)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def sign_in(self, staff: Staff, stop: threading.Event) -> bool:
        """Password, then the code from her authenticator app (the next step's code: the
        enrolment used this step's, and a code is never accepted twice)."""
        while not stop.is_set():
            self.get("/login", "GET /login")
            answer = self.post(
                "/login", "POST /login", {"username": staff.username, "password": PASSWORD}
            )
            if answer is not None and answer.status_code == 302:
                self.get("/login/code", "GET /login/code")
                step = totp.step_of(datetime.now(UTC)) + 1
                code = totp.code_at(staff.totp_secret, step)
                answer = self.post("/login/code", "POST /login/code", {"code": code})
                if answer is not None and answer.status_code == 302:
                    return True
            stop.wait(5)
        return False


def liaison(base: str, staff: Staff, recorder: Recorder, stop: threading.Event, seed: int) -> None:
    rng, browser = random.Random(seed), Browser(base, recorder)
    if not browser.sign_in(staff, stop):
        return
    while not stop.is_set():
        page = browser.get("/queue", "GET /queue")
        if page is not None and page.status_code == 302:
            browser.sign_in(staff, stop)
            continue
        free = CLAIMABLE.findall(page.text) if page is not None else []
        if free:
            _work_one(browser, rng.choice(free[:10]), rng)
        stop.wait(rng.uniform(0.5, 1.5))


def _work_one(browser: Browser, task_id: str, rng: random.Random) -> None:
    claimed = browser.post(f"/tasks/{task_id}/claim", "POST /tasks/<id>/claim", {})
    if claimed is None or claimed.status_code != 302:
        return  # another liaison holds it (409), or the request failed
    browser.get(f"/tasks/{task_id}", "GET /tasks/<id>")
    browser.post(
        f"/tasks/{task_id}/attempts",
        "POST /tasks/<id>/attempts",
        {"outcome": rng.choice(OUTCOMES), "channel": "voice", "at": "", "notes": ""},
    )


# A supervisor signs out and in again about once a minute (40 pages at 1.5 s).
RETURNS_EVERY = 40


def supervisor(base: str, staff: Staff, recorder: Recorder, stop: threading.Event) -> None:
    browser = Browser(base, recorder)
    if not browser.sign_in(staff, stop):
        return
    pages = ("/review/compliance", "/review/attempts", "/review/sign-offs")
    n = 0
    while not stop.is_set():
        path = pages[n % len(pages)]
        answer = browser.get(path, f"GET {path}")
        if answer is not None and answer.status_code == 302:
            browser.sign_in(staff, stop)
        n += 1
        if n % RETURNS_EVERY == 0:
            # Back from a meeting: signed out, then in again, so sign-in is measured while
            # the scheduler sends, not only in the opening minute when all staff arrive.
            browser.post("/logout", "POST /logout", {})
            browser.sign_in(staff, stop)
        stop.wait(1.5)


def program_system(
    base: str, world: World, recorder: Recorder, stop: threading.Event, seed: int
) -> None:
    """A program's own system on the API, with its facilitator token: reports events (S7: its
    answers say nothing of contacts, and it reads no tasks)."""
    rng, http = random.Random(seed), requests.Session()
    http.headers["Authorization"] = f"Bearer {world.api_token}"
    while not stop.is_set():
        start = time.time()
        now = datetime.now(UTC)
        body = {  # the court report's date is part of the event (vocabulary.DATED_EVENTS)
            "type": "progress_report_due",
            "at": now.isoformat(),
            "report_date": (now + timedelta(days=rng.randint(7, 28))).date().isoformat(),
        }
        path = f"/api/v1/participants/{rng.choice(world.participants)}/events"
        try:
            status = http.post(base + path, json=body, timeout=30).status_code
        except requests.RequestException:
            status = 0
        recorder.add("POST /api/v1/participants/<id>/events", start, status)
        stop.wait(1.0)


def health_check(base: str, recorder: Recorder, stop: threading.Event) -> None:
    """The load balancer's health check, every 5 s."""
    while not stop.is_set():
        start = time.time()
        try:
            status = requests.get(base + "/healthz", timeout=10).status_code
        except requests.RequestException:
            status = 0
        recorder.add("GET /healthz", start, status)
        stop.wait(5)


# --- Twilio's callbacks --------------------------------------------------------------------


def callback_stream(codes: list[str], count: int, seed: int = 21) -> list[Callback]:
    """`count` callbacks: calls eight at a time, their callbacks interleaved, three calls in
    ten reported out of order (Twilio does not promise order), one callback in ten sent again
    later (a retried connection)."""
    rng, stream = random.Random(seed), list[Callback]()
    for first in range(0, len(codes), 8):
        calls = [callbacks_for(code) for code in codes[first : first + 8]]
        for call in calls:
            if rng.random() < 0.3:
                rng.shuffle(call)
        while any(calls):
            stream.append(rng.choice([c for c in calls if c]).pop(0))
        if len(stream) >= count:
            break
    out: list[Callback] = []
    for callback in stream:
        out.append(callback)
        if rng.random() < 0.1:
            out.append(rng.choice(out[-200:]))
        if len(out) >= count:
            break
    return out


class Twilio:
    """Posts the stream at `rate` a second from a few connections, as Twilio would."""

    def __init__(self, port: int, token: str, recorder: Recorder) -> None:
        self.port, self.recorder = port, recorder
        self.validator = RequestValidator(token)
        self.next, self.lock = 0, threading.Lock()

    def run(self, stream: list[Callback], rate: float, began: float, stop: threading.Event) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not stop.is_set():
            with self.lock:
                index, self.next = self.next, self.next + 1
            if index >= len(stream):
                return
            due = began + index / rate
            if stop.wait(max(0.0, due - time.time())):
                return
            conn = self._post(conn, stream[index])

    def _post(
        self, conn: http.client.HTTPConnection, callback: Callback
    ) -> http.client.HTTPConnection:
        label = "POST webhook " + callback.path.split("?")[0].removeprefix("/webhooks/twilio")
        url = f"http://127.0.0.1:{self.port}{callback.path}"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.validator.compute_signature(url, callback.fields),
        }
        start = time.time()
        self.recorder.count_callback()
        try:
            conn.request("POST", callback.path, urlencode(callback.fields), headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn, status = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30), 0
        self.recorder.add(label, start, status)
        if status == 200:
            self.recorder.acknowledged.add(natural_key(callback))
        return conn


def start_threads(targets: list[Callable[[], None]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    return threads
