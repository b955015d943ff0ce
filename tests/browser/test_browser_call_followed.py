"""In headless Chromium: after "Call" the task page follows the call without a reload, and
when a person answered it shows the outcome form filled in with the call's time (issue 22
item 2), at 1366x768 and at 390 px. Screenshots go to test-artifacts/.

The clock is fixed at noon in New York (inside calling hours) and the simulator plays a
person answering, so the test is the same at any hour it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import make_server

from outreach import create_app
from outreach.channels.pacing import Pacer
from outreach.channels.simulator import Poster, SimulatorChannel
from outreach.channels.simulator_scenarios import ScriptedScenario
from outreach.clock import FixedClock
from outreach.db import migrate
from outreach.domain.vocabulary import Role
from outreach.models import Participant
from outreach.runtime import runtime
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import users
from outreach.settings import load_settings
from tests.browser.axe_check import load_axe, small_targets, violations
from tests.browser.test_browser_flow import ARGS, ARTIFACTS, CHROMIUM, PHONE, SCREEN, ZONE
from tests.factories import PASSWORD, make_contact, make_group, make_program, make_user

# Inside calling hours in New York whatever the season (17:00 UTC is noon or 13:00 there).
NOON_IN_NEW_YORK = datetime.now(UTC).replace(hour=17, minute=0, second=0, microsecond=0)


@pytest.fixture
def site(test_environ: dict[str, str], tmp_path: Path) -> Iterator[str]:
    settings = load_settings(
        {**test_environ, "OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'call.db'}"}
    )
    app = create_app({"TESTING": False}, settings=settings, clock=FixedClock(NOON_IN_NEW_YORK))
    rt = runtime(app)
    migrate(rt.engine)
    rt.channel = SimulatorChannel(  # a person answers and presses 1, a step each half second
        Poster(app, settings.webhook_token, settings.public_url),
        ScriptedScenario(calls=["human"]),
        Pacer(1000, sleep=lambda _: None),
        background=True,
        step_seconds=0.4,
    )
    _seed(rt.sessions, rt)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    rt.engine.dispose()


def _seed(sessions: sessionmaker, rt: object) -> None:  # type: ignore[type-arg]
    now = NOON_IN_NEW_YORK
    with sessions() as db:
        program = make_program(db, now=now - timedelta(days=60))
        group = make_group(db, program, now=now, starts_on=now.date() - timedelta(days=30))
        participant = Participant(
            program_id=program.id,
            group_id=group.id,
            reference="P-301",
            created_at=now - timedelta(days=30),
        )
        db.add(participant)
        db.commit()
        make_contact(db, rt.vault, participant, now=now, consent="consented")  # type: ignore[attr-defined]
        events.report_event(
            db,
            rt.profiles,  # type: ignore[attr-defined]
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="enrolled",
            at=now,
            severity="routine",
            now=now,
        )
        liaison = make_user(db, Role.LIAISON, [program], now=now, username="sam.rivera")
        users.set_phone(  # type: ignore[attr-defined]
            db, rt.vault, user_id=liaison.id, phone="+14045550111", now=now, actor=SYSTEM
        )


@pytest.fixture
def browser() -> Iterator[object]:
    assert CHROMIUM.exists(), f"browser tests need Debian's chromium at {CHROMIUM}"
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("viewport", [SCREEN, PHONE], ids=["1366", "390"])
def test_the_page_follows_the_call_and_asks_how_it_went_without_a_reload(
    browser: object, site: str, viewport: dict[str, int]
) -> None:
    page = browser.new_page(viewport=viewport)  # type: ignore[attr-defined]
    load_axe(page)
    page.goto(f"{site}/login")
    page.fill("#username", "sam.rivera")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue")
    page.click("table.queue button:has-text('Claim')")
    page.click("#call-slot button")
    if page.locator("button:has-text('Yes, call now')").count():  # outside a window: asked
        assert violations(page) == []
        assert small_targets(page) == []
        page.click("button:has-text('Yes, call now')")
    page.wait_for_selector("section.call-progress")
    page.evaluate("window.stillTheSamePage = true")
    stage = page.locator("section.call-progress .call-stage")
    assert stage.get_attribute("role") == "status"
    page.screenshot(path=str(ARTIFACTS / f"call-{viewport['width']}-1-ringing.png"))
    seen = set()
    for _ in range(100):  # each stage in words as it comes, without a reload
        seen.add(stage.inner_text())
        if "A person answered" in stage.inner_text():
            break
        page.wait_for_timeout(200)
    assert "A person answered and you are put through." in stage.inner_text()
    assert len(seen) >= 2, f"the page showed the call moving on: {seen}"
    assert page.evaluate("window.stillTheSamePage") is True
    form = page.locator("form.call-outcome")
    assert form.is_visible()
    assert page.input_value("#followed-at") == f"{NOON_IN_NEW_YORK.astimezone(ZONE):%Y-%m-%dT%H:%M}"
    assert page.input_value("#followed-outcome") == ""  # S6: chosen, never assumed safe
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]
    page.screenshot(path=str(ARTIFACTS / f"call-{viewport['width']}-2-answered.png"))
    assert violations(page) == []  # the page as the script left it (issue 22 item 9)
    assert small_targets(page) == []

    page.select_option("#followed-outcome", "reached_safe")
    page.click("button:has-text('Record the outcome of this call')")
    page.wait_for_selector("table.attempts")
    assert "reached, safe to talk" in page.inner_text("table.attempts")  # words (issue 22 item 8)
    assert page.locator("section.call-progress").count() == 0
    page.screenshot(path=str(ARTIFACTS / f"call-{viewport['width']}-3-recorded.png"))
