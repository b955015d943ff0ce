"""In headless Chromium at 1366x768: Emerge's liaison records the safe address she named,
prints her letter in Spanish and confirms mailing it (seeds/001 "Massachusetts"; issue 20
item 5). Screenshots go to test-artifacts/ (the screen, and the page as printed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import make_server

from outreach import create_app
from outreach.db import migrate
from outreach.domain.vocabulary import Role
from outreach.runtime import runtime
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM
from outreach.settings import load_settings
from tests.browser.test_browser_flow import (  # noqa: F401 - `browser` is a fixture
    ARTIFACTS,
    Site,
    _clean,
    _sign_in,
    browser,
)
from tests.factories import make_contact, make_group, make_participant, make_program, make_user


@pytest.fixture
def site(test_environ: dict[str, str], tmp_path: Path) -> Iterator[Site]:
    settings = load_settings(
        {**test_environ, "OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'letter.db'}"}
    )
    app = create_app({"TESTING": False}, settings=settings)
    migrate(runtime(app).engine)
    users = _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{server.server_port}", users, "")
    server.shutdown()
    thread.join()
    runtime(app).engine.dispose()


def _seed(app: object) -> dict[str, str]:
    """An Emerge participant who completed; his ex-partner reads Spanish and allows letters."""
    rt = runtime(app)  # type: ignore[arg-type]
    now = rt.clock.now()
    sessions: sessionmaker = rt.sessions  # type: ignore[type-arg]
    with sessions() as db:
        program = make_program(db, now=now, protocol="emerge")
        participant = make_participant(db, make_group(db, program, now=now), now=now)
        make_contact(
            db, rt.vault, participant, now=now, consent="consented", mail=True, language="es"
        )
        for event in ("enrolled", "completed"):
            events.report_event(
                db, rt.profiles, actor=SYSTEM, participant_id=participant.id,
                event_type=event, at=now, severity="routine", now=now,
            )  # fmt: skip
        liaison = make_user(db, Role.LIAISON, [program], now=now, username="sam.rivera")
        return {"liaison": liaison.username}


def test_the_liaison_prints_a_spanish_letter_and_confirms_mailing_it(
    browser: object,  # noqa: F811 - the fixture imported above
    site: Site,
) -> None:
    page = _sign_in(browser, site, "liaison")
    page.goto(f"{site.url}/queue")
    page.click("table.queue button:has-text('Claim')")
    page.wait_for_selector("#letter-heading")
    assert "no safe mailing address" in page.inner_text("section:has(#letter-heading)")
    page.fill("#mailing_address", "c/o R. Muestra\n45 Elm Street\nMalden, MA 02148")
    page.click("button:has-text('Record her safe address')")
    page.wait_for_selector("button:has-text('Print letter')")
    _clean(page)
    page.click("button:has-text('Print letter')")
    page.wait_for_selector("article.letter")
    assert "Hola," in page.inner_text("article.letter")
    assert "45 Elm Street" in page.inner_text("article.envelope")
    page.screenshot(path=str(ARTIFACTS / "letter-1-screen.png"), full_page=True)
    _clean(page)
    page.emulate_media(media="print")
    assert not page.is_visible("header.bar")  # printed: the letter only, nothing of the app
    assert not page.is_visible("text=I printed and mailed it")
    page.screenshot(path=str(ARTIFACTS / "letter-2-print.png"), full_page=True)
    page.emulate_media(media="screen")
    page.click("button:has-text('I printed and mailed it')")
    page.wait_for_selector("text=The letter is recorded as mailed")
    assert "letter sent" in page.inner_text("table.attempts")
