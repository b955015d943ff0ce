"""In headless Chromium: a liaison works a task to "unreachable", a supervisor finds the
attempts, a facilitator checks a participant in. Screenshots go to test-artifacts/.

The app runs on a loopback port in a thread, on a file SQLite database of its own. Chromium
is Debian's (`apt-get install chromium`, done by .ci/run); without it these tests fail,
on purpose, rather than skip.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import make_server

from outreach import create_app
from outreach.db import migrate
from outreach.domain.vocabulary import Role
from outreach.models import Participant
from outreach.runtime import runtime
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM
from outreach.settings import load_settings
from tests.browser.axe_check import load_axe, small_targets, violations
from tests.factories import PASSWORD, make_contact, make_group, make_program, make_user

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ZONE = ZoneInfo("America/New_York")


@dataclass
class Site:
    url: str
    users: dict[str, str]
    participant: str


@pytest.fixture
def site(test_environ: dict[str, str], tmp_path: Path) -> Iterator[Site]:
    settings = load_settings(
        {**test_environ, "OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'browser.db'}"}
    )
    app = create_app({"TESTING": False}, settings=settings)
    migrate(runtime(app).engine)
    seeded = _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{server.server_port}", *seeded)
    server.shutdown()
    thread.join()
    runtime(app).engine.dispose()


def _seed(app: object) -> tuple[dict[str, str], str]:
    rt = runtime(app)  # type: ignore[arg-type]
    now = rt.clock.now()
    sessions: sessionmaker = rt.sessions  # type: ignore[type-arg]
    with sessions() as db:
        program = make_program(db, now=now)
        group = make_group(
            db, program, now=now, rrule="FREQ=DAILY", starts_on=now.date() - timedelta(days=30)
        )
        participant = Participant(
            program_id=program.id, group_id=group.id, reference="P-204", created_at=now
        )
        db.add(participant)
        db.commit()
        make_contact(db, rt.vault, participant, now=now, consent="consented")
        events.report_event(
            db,
            rt.profiles,
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="enrolled",
            at=now,
            severity="routine",
            now=now,
        )
        users = {
            role: make_user(db, role, [program], now=now, username=name).username
            for role, name in (
                (Role.LIAISON, "sam.rivera"),
                (Role.SUPERVISOR, "jo.park"),
                (Role.FACILITATOR, "lee.grant"),
                (Role.ADMIN, "morgan.admin"),
            )
        }
        return {str(k): v for k, v in users.items()}, participant.reference


@pytest.fixture
def browser() -> Iterator[object]:
    assert CHROMIUM.exists(), (
        f"headless browser tests need Debian's chromium at {CHROMIUM}: apt-get install -y chromium"
    )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


# Issue 22 item 4: each role lands on the page its work starts from.
LANDING = {
    "liaison": "/queue",
    "supervisor": "/review/compliance",
    "facilitator": "/groups",
    "admin": "/admin/users",
}
SCREEN = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def _sign_in(browser: object, site: Site, role: str, viewport: dict[str, int] = SCREEN):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=viewport)  # type: ignore[attr-defined]
    load_axe(page)
    page.goto(f"{site.url}/login")
    page.fill("#username", site.users[role])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{LANDING[role]}")
    return page


def _local(days_ago: int) -> str:
    moment = datetime.now(ZONE) - timedelta(days=days_ago)
    return moment.replace(hour=12, minute=0).strftime("%Y-%m-%dT%H:%M")


def _clean(page) -> None:  # type: ignore[no-untyped-def]
    """Issue 22 item 9: axe-core finds nothing on the page and every control is 24 px."""
    assert violations(page) == []
    assert small_targets(page) == []


def test_a_liaison_works_a_task_to_unreachable_and_a_supervisor_finds_it(
    browser: object, site: Site
) -> None:
    page = _sign_in(browser, site, "liaison")
    page.goto(f"{site.url}/queue")
    page.screenshot(path=str(ARTIFACTS / "1-queue.png"), full_page=True)
    _clean(page)
    page.click("table.queue button:has-text('Claim')")
    page.wait_for_selector("#safe-heading")
    assert "safe" in page.inner_text("#safe-heading").lower()
    assert page.is_visible("#script-safe-to-talk")
    page.screenshot(path=str(ARTIFACTS / "2-task-script.png"), full_page=True)
    _clean(page)
    # The pages that ask before acting pass the same checks (issue 22 item 9).
    page.select_option("#outcome", "declined")
    page.click("button:has-text('Record attempt')")
    page.wait_for_selector("text=Yes, they declined")
    _clean(page)
    page.click("text=No, go back")
    page.select_option("#outcome", "no_answer")
    page.fill("#at", _local(3))
    page.click("button:has-text('Record attempt')")  # before the task opened, no reason: asked
    page.wait_for_selector("text=Record attempt with this reason")
    _clean(page)
    page.click("text=Cancel")
    for days_ago in (3, 1):  # two different days: two different windows (S5)
        page.select_option("#outcome", "no_answer")
        page.fill("#at", _local(days_ago))
        page.fill("#reason", "entered from the paper log")  # S14: before the task opened
        page.click("button:has-text('Record attempt')")
        page.wait_for_selector("table.attempts")
    assert page.locator("table.attempts tbody tr").count() == 2
    page.screenshot(path=str(ARTIFACTS / "3-two-attempts.png"), full_page=True)
    _clean(page)
    page.click("button[value=unreachable]")
    _clean(page)  # the confirmation page
    page.click("button:has-text('Yes, close as unreachable')")  # issue 22 item 3: asked first
    page.wait_for_url("**/queue")
    assert "is closed as unreachable" in page.inner_text("[role=status]")
    assert "Nothing to do right now." in page.content()

    review = _sign_in(browser, site, "supervisor")
    review.goto(f"{site.url}/review/attempts")
    assert review.locator("tr.attempt-row").count() == 2
    review.screenshot(path=str(ARTIFACTS / "4-attempt-log.png"), full_page=True)
    _clean(review)


def test_after_claim_the_call_button_and_the_next_window_are_on_the_first_screen(
    browser: object, site: Site
) -> None:
    # Issue 22 item 1: why, when and how, her name, number and Call, without scrolling.
    page = _sign_in(browser, site, "liaison")
    page.click("table.queue button:has-text('Claim')")
    page.wait_for_selector("#call-slot")
    page.evaluate("window.scrollTo(0, 0)")
    call = page.locator("#call-slot button").bounding_box()
    when = page.locator("#next-window").bounding_box()
    assert call is not None
    assert when is not None
    assert call["y"] + call["height"] <= SCREEN["height"]
    assert when["y"] + when["height"] <= SCREEN["height"]
    assert page.locator(".panel .phone").is_visible()
    page.screenshot(path=str(ARTIFACTS / "6-first-screen-after-claim.png"))


def test_a_facilitator_checks_a_participant_in(browser: object, site: Site) -> None:
    page = _sign_in(browser, site, "facilitator")
    page.goto(f"{site.url}/groups")
    page.click("text=Tuesday evening")
    page.click(f"button:has-text('Check in {site.participant}')")
    page.wait_for_selector(".mark-present")
    assert "checked in" in page.inner_text(".mark-present")
    assert page.locator(f"button:has-text('Check in {site.participant}')").count() == 0
    page.screenshot(path=str(ARTIFACTS / "5-check-in.png"), full_page=True)
    _clean(page)


def _pages_of(page, site: Site) -> list[str]:  # type: ignore[no-untyped-def]
    """Every page a role reaches: its menu, and one of each page a menu page links to."""
    links = page.eval_on_selector_all("nav[aria-label=Main] a", "els => els.map(e => e.href)")
    found = [link.removeprefix(site.url) for link in links]
    for listing, detail in (("/queue", "/tasks/"), ("/groups", "/groups/")):
        if listing in found:
            page.goto(site.url + listing)
            first = page.locator(f"main a[href^='{detail}']").first
            if first.count():
                found.append(first.get_attribute("href"))
    for task in [f for f in found if f.startswith("/tasks/")]:
        page.goto(site.url + task)
        if page.locator("button:has-text('Claim')").count():
            page.click("button:has-text('Claim')")  # the claimed page: name, number, forms
        releases = page.locator("main a[href^='/contacts/']").first
        if releases.count():
            found.append(releases.get_attribute("href"))
    return found


@pytest.mark.parametrize("viewport", [SCREEN, PHONE], ids=["1366", "390"])
def test_every_page_of_every_role_passes_axe_and_fits_the_screen(
    browser: object, site: Site, viewport: dict[str, int]
) -> None:
    # Issue 22 item 9: axe-core finds nothing, of any impact, on any page of any role, at
    # either width; every control is at least 24 px square (WCAG 2.5.8); at 390 px every page
    # fits its width (tables become stacked rows).
    wide: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    seen = 0
    for role in LANDING:
        page = _sign_in(browser, site, role, viewport)
        for number, path in enumerate(["/login", *_pages_of(page, site)]):
            page.goto(site.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > viewport["width"]:
                wide[f"{role} {path}"] = width
            problems = [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in violations(page)]
            problems += [f"under 24 px: {target}" for target in small_targets(page)]
            if problems:
                found[f"{role} {path}"] = problems
            shot = f"{viewport['width']}-{role}-{number}.png"
            page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
            seen += 1
    report = ARTIFACTS / f"accessibility-{viewport['width']}.json"
    report.write_text(json.dumps({"pages": seen, "wide": wide, "found": found}, indent=1))
    assert seen >= 18, "every role's pages were visited"
    assert wide == {}
    assert found == {}, f"see {report}"
