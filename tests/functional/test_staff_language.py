"""Staff screens in the staff's language (issue 22 item 8).

S12: "a Spanish-first program makes Spanish the default for its contacts and its staff
screens": Caminar Latino's liaisons work in Spanish. Each user may choose English or Spanish on
their Language page; unset, their programs' language is used. Whatever the screens' language,
her call script is marked with her own language, and no internal name (`duty_to_warn`,
`no_answer`, `[not-safe]`, a rule code such as "(S6)", a zone key such as "America/New_York")
reaches a screen.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy.orm import Session

from outreach.domain import plan_words
from outreach.domain.participation import Status, StatusAt
from outreach.domain.planning.windows import Skipped, SkipReason
from outreach.domain.vocabulary import Role
from outreach.models import OutreachTask, User
from outreach.runtime import runtime
from outreach.services.contact_persons import her_word
from outreach.web.language import i18n, service_sentences
from tests.conftest import NOW
from tests.factories import World, make_program, make_user, report_event
from tests.functional.web import log_in, open_tasks, post


def _spanish_first(app: Flask, protocol: str = "georgia_fvip") -> None:
    """The deployment Caminar Latino runs: its protocol's profile says language = "es"."""
    profiles = runtime(app).profiles
    profiles[protocol] = dataclasses.replace(profiles[protocol], language="es")


def _page(client: FlaskClient, path: str) -> str:
    answer = client.get(path)
    assert answer.status_code == 200, path
    return answer.get_data(as_text=True)


def _lang(page: str) -> str:
    match = re.search(r'<html lang="([a-z]+)">', page)
    assert match
    return match[1]


def _choose(client: FlaskClient, language: str) -> str:
    answer = post(client, "/account/language", {"language": language})
    assert answer.status_code == 302  # type: ignore[attr-defined]
    return _page(client, "/account/language")


def test_a_spanish_first_programs_liaison_works_the_queue_in_spanish(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _spanish_first(app)
    report_event(db, runtime(app).profiles, world, "duty_to_warn", now=NOW, severity="high")
    log_in(client, world.users["liaison"])
    queue = _page(client, "/queue")
    assert _lang(queue) == "es"
    assert "<h1>Lista de llamadas</h1>" in queue
    assert "Tomar" in queue
    assert "deber de advertir" in queue
    assert "Call queue" not in queue
    assert "Claim" not in _visible(queue)


def test_a_liaison_who_chose_english_sees_english_in_a_spanish_first_program(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _spanish_first(app)
    open_tasks(app, db, world, NOW)
    log_in(client, world.users["liaison"])
    assert _lang(_page(client, "/queue")) == "es"
    page = _choose(client, "en")
    assert "The language of your screens is saved." in page  # said in the language chosen
    queue = _page(client, "/queue")
    assert _lang(queue) == "en"
    assert "<h1>Call queue</h1>" in queue
    db.refresh(world.users["liaison"])
    assert world.users["liaison"].language == "en"


def test_an_english_programs_liaison_may_choose_spanish_and_go_back_to_the_programs(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    assert _lang(_page(client, "/queue")) == "en"
    page = _choose(client, "es")
    assert "El idioma de sus pantallas quedó guardado." in page
    post(client, f"/tasks/{task.id}/claim")
    task_page = _page(client, f"/tasks/{task.id}")
    assert _lang(task_page) == "es"
    assert "Primero: ¿es seguro hablar?" in task_page
    assert "Registrar el intento" in task_page
    # Days and months in her times are said in Spanish too ("mar 17 nov", not "Tue 17 Nov").
    assert re.search(r"\b(?:lun|mar|mié|jue|vie|sáb|dom) \d\d [a-z]+", _visible(task_page))
    assert not re.search(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d [A-Z][a-z]+", _visible(task_page))
    _choose(client, "")  # "my program's language"
    assert _lang(_page(client, f"/tasks/{task.id}")) == "en"


def test_a_language_other_than_english_or_spanish_is_refused_naming_the_field(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.users["liaison"])
    _choose(client, "es")
    answer = post(client, "/account/language", {"language": "fr"})
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "elija inglés o español" in answer.get_data(as_text=True)  # type: ignore[attr-defined]
    db.refresh(world.users["liaison"])
    assert world.users["liaison"].language == "es", "nothing half-written"


def test_each_role_has_the_language_page(client: FlaskClient, db: Session, world: World) -> None:
    for persona in ("liaison", "supervisor", "facilitator", "admin"):
        log_in(client, world.users[persona])
        assert 'href="/account/language"' in _page(client, "/home")


@pytest.mark.parametrize(
    ("screens", "hers"), [("es", "en"), ("en", "es")], ids=["spanish-screens", "english-screens"]
)
def test_her_script_is_marked_with_her_language_whatever_the_screens(
    app: Flask, client: FlaskClient, db: Session, world: World, screens: str, hers: str
) -> None:
    """S12: a screen reader reads her script in her language, not in the liaison's."""
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"language": hers},
        now=NOW,
    )
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    _choose(client, screens)
    post(client, f"/tasks/{task.id}/claim")
    page = _page(client, f"/tasks/{task.id}")
    assert _lang(page) == screens
    match = re.search(r'<section class="card script" aria-label="[^"]+" lang="([a-z]+)">', page)
    assert match, "the script is on the page, marked with a language"
    assert match[1] == hers


def test_a_user_of_programs_in_two_languages_gets_english_until_they_choose(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    """A user belongs to no single home program: their programs' language when they share
    one, English when they differ; the Language page lets them choose."""
    _spanish_first(app)
    english = make_program(db, now=NOW, protocol="emerge")
    both = make_user(db, Role.LIAISON, [world.home, english], now=NOW)
    only_spanish = make_user(db, Role.LIAISON, [world.home], now=NOW)
    log_in(client, both)
    assert _lang(_page(client, "/home")) == "en"
    log_in(client, only_spanish)
    assert _lang(_page(client, "/home")) == "es"
    assert i18n.user_language("es", ["en"]) == "es"
    assert i18n.user_language(None, []) == "en"


def test_signing_in_speaks_the_browsers_language_before_anyone_is_known(
    client: FlaskClient,
) -> None:
    page = client.get("/login", headers={"Accept-Language": "es-US,es;q=0.9"})
    text = page.get_data(as_text=True)
    assert _lang(text) == "es"
    assert "Iniciar sesión" in text


def test_the_call_followed_on_the_page_is_told_in_the_liaisons_language() -> None:
    """The live call's words (services/attempts/call_progress.py) each have their translation, as do
    the other sentences the services write for the task page and the queue."""
    from outreach.services.attempts import call_panel, call_progress

    written = [
        *call_progress.WORDS.values(),
        *call_panel.STATUS_WORDS.values(),
        *call_panel.REFUSALS.values(),
        "not checked in yet",
        "checked in",
        "no group tonight",
    ]
    assert [text for text in written if text not in service_sentences.PHRASES] == []


# --- no internal names on any screen ---------------------------------------------------------

# Raw stored values, markers, rule codes and zone keys (issue 22 item 8).
INTERNAL = re.compile(
    r"duty_to_warn|no_answer|reached_(?:not_)?safe|machine_hung_up|voicemail_neutral"
    r"|wrong_number|leave_of_absence|\[not-safe\]|\[[a-z]+-[a-z-]+\]|\(S\d+|\bS\d+\)"
    r"|America/|Europe/|Pacific/"
)
# Attributes a person reads or hears (a screen reader reads labels and titles).
READ_ATTRIBUTES = frozenset({"title", "aria-label", "placeholder", "alt", "data-label"})


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(v for k, v in attrs if k in READ_ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _visible(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return " ".join(parser.parts)


def _crawl(client: FlaskClient, start: str, limit: int = 40) -> dict[str, str]:
    """Every page a user reaches by following links from where they land (GET only)."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo and len(seen) < limit:
        path = todo.pop(0)
        if path in seen:
            continue
        answer = client.get(path)
        if answer.status_code != 200 or answer.mimetype != "text/html":
            seen[path] = ""
            continue
        page = answer.get_data(as_text=True)
        seen[path] = page
        for href in re.findall(r'href="([^"#]+)', page):
            link = urlsplit(href)
            if not link.netloc and link.path.startswith("/") and "/static/" not in link.path:
                todo.append(link.path + (f"?{link.query}" if link.query else ""))
    return seen


def _busy_week(app: Flask, db: Session, world: World) -> OutreachTask:
    """A duty to warn, a routine task with a no-answer attempt and a not-safe one."""
    report_event(db, runtime(app).profiles, world, "duty_to_warn", now=NOW, severity="high")
    return open_tasks(app, db, world, NOW)[0]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("persona", ["liaison", "supervisor", "facilitator", "admin"])
def test_no_internal_name_reaches_any_screen_of_any_role(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    persona: str,
    language: str,
) -> None:
    task = _busy_week(app, db, world)
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{task.id}/claim")
    for outcome in ("no_answer", "reached_not_safe"):
        post(client, f"/tasks/{task.id}/attempts", {"outcome": outcome, "channel": "voice"})
    user: User = world.users[persona]
    log_in(client, user)
    _choose(client, language)
    pages = _crawl(client, "/home")
    assert len([p for p in pages.values() if p]) >= 4, sorted(pages)
    found = {
        path: sorted(set(INTERNAL.findall(_visible(page))))
        for path, page in pages.items()
        if INTERNAL.search(_visible(page))
    }
    assert found == {}
    if language == "es":  # and no English sentence of ours left on a Spanish page
        ours = _english_sentences()
        english = {path: [e for e in ours if e in _visible(page)] for path, page in pages.items()}
        assert {path: left for path, left in english.items() if left} == {}


def _english_sentences() -> list[str]:
    """Our English of three words or more whose Spanish differs: the catalogue's and the
    services' sentences (PHRASES) alike."""
    texts = [m.id for m in _catalogue() if isinstance(m.id, str) and m.string != m.id]
    texts += list(service_sentences.PHRASES)
    return [t for t in texts if len(t.split()) >= 3 and "%(" not in t]


# --- the catalogues ----------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "outreach" / "web" / "templates"
SPANISH_PO = i18n.TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
SPANISH_MO = SPANISH_PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Words a template may show as they are: the product's name, and each language's own name on
# the Language page (each marked with its lang attribute).
AS_THEY_ARE = {"outreach", "English", "Español"}
# Staff pages not yet marked for translation. Empty it as pages are done; the test below fails
# when a page here has nothing left to mark, so it cannot grow stale.
NOT_YET_MARKED: frozenset[str] = frozenset()


def _catalogue() -> Catalog:
    with SPANISH_PO.open("rb") as f:
        return read_po(f, locale="es")


def _ids(catalogue: Catalog) -> set[object]:
    return {m.id for m in catalogue if m.id}


def _extracted() -> set[object]:
    """What `make translations` would extract from the code and templates today."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    found: set[object] = set()
    for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map, keywords):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_every_marked_string_is_in_the_spanish_catalogue_and_nothing_stale() -> None:
    """A string marked in the code but missing from the catalogue would show in English on a
    Spanish screen: run `make translations` and translate it."""
    assert _extracted() - _ids(_catalogue()) == set()
    assert _ids(_catalogue()) - _extracted() == set()


def test_every_spanish_entry_is_translated_and_keeps_its_placeholders() -> None:
    catalogue = _catalogue()
    untranslated, broken = [], []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if "fuzzy" in message.flags or not all(strings):
            untranslated.append(message.id)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings if s):
            broken.append(message.id)
    assert untranslated == []
    assert broken == []


def test_the_committed_compiled_catalogue_is_the_spanish_one() -> None:
    """A fresh clone shows Spanish with no build step: the .mo is committed, and must say what
    the .po says (`make translations` compiles it)."""
    with SPANISH_MO.open("rb") as f:
        compiled = read_mo(f)
    source = _catalogue()
    assert {_plain(m.id): _plain(m.string) for m in compiled if m.id} == {
        _plain(m.id): _plain(m.string) for m in source if m.id
    }


def _plain(string: object) -> object:
    return tuple(string) if isinstance(string, list | tuple) else string


def _unmarked(template: Path) -> list[str]:
    """Text of a template a person would read that no gettext call wraps."""
    source = template.read_text()
    # A contact's reference (its example in the queue's search box) reads alike in every language.
    for pattern in (r"\{#.*?#\}", r"\{\{.*?\}\}", r"\{%.*?%\}", r"\bC-[0-9A-F]{8}\b"):
        source = re.sub(pattern, " ", source, flags=re.S)
    words = re.findall(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'-]*", _visible(source))
    return [w for w in words if w not in AS_THEY_ARE]


def test_no_staff_text_is_left_unmarked_in_a_template() -> None:
    found = {
        t.name: _unmarked(t)[:8]
        for t in sorted(TEMPLATES.glob("*.html"))
        if t.name not in NOT_YET_MARKED and _unmarked(t)
    }
    assert found == {}
    assert [name for name in NOT_YET_MARKED if not _unmarked(TEMPLATES / name)] == []


def test_a_spanish_page_renders_from_the_committed_catalogue(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """Nothing compiles at start or install: the page reads the committed .mo as it is."""
    assert SPANISH_MO.exists()
    log_in(client, world.users["liaison"])
    _choose(client, "es")
    assert ">Lista de llamadas</a>" in _page(client, "/home")


def test_a_spanish_speaking_facilitator_reads_the_groups_schedule_in_spanish(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """Issue 22 item 6 in the staff's language: the world's group meets Tuesdays 18:30-20:30."""
    _spanish_first(app)
    log_in(client, world.users["facilitator"])
    page = _page(client, "/groups")
    assert "Martes, de 18:30 a 20:30, hora de New York" in page
    assert "Tuesdays" not in page


@pytest.mark.parametrize(
    ("status", "named", "english_part"),
    [
        (Status.COMPLETED, True, "He completed the program on"),
        (Status.TERMINATED, False, "He left the program (terminated) on"),
        (Status.REJECTED, True, "His application was rejected on"),
        (Status.ON_LEAVE, False, "He has been on leave since"),
        (Status.NOT_ENROLLED, True, "He is not enrolled yet"),
    ],
)
def test_why_the_planner_refuses_group_time_is_said_in_spanish(
    app: Flask, status: Status, named: bool, english_part: str
) -> None:
    """S4's sentences (domain/plan_words.py) on a Spanish screen: every part translated, the
    rule codes left out, in English as in Spanish."""
    skipped = [
        Skipped("t", "c", SkipReason.PARTICIPANT_NOT_ACTIVE),
        Skipped("t", "c", SkipReason.CONTACT_DECLINED),
    ]
    since = StatusAt(status, NOW - timedelta(days=3))
    sentences = plan_words.why(
        skipped, since, named_safe_times=named, zone=ZoneInfo("America/New_York")
    )
    assert any(english_part in s for s in sentences)
    with app.test_request_context(), force_locale("es"):
        spanish = [service_sentences.say(s) for s in sentences]
    with app.test_request_context(), force_locale("en"):
        english = [service_sentences.say(s) for s in sentences]
    assert not any(english_part in s for s in spanish)
    assert all(s.startswith("Él") or s.startswith("Su ") or s.startswith("Ella") for s in spanish)
    assert not any("(S1)" in s for s in english + spanish)
    if status is not Status.NOT_ENROLLED:  # the day he left, with its month in Spanish
        assert any(re.search(r"\b14 nov\b", s) for s in spanish), spanish


def test_the_live_call_is_followed_in_spanish(app: Flask) -> None:
    from outreach.services.attempts import call_progress

    with app.test_request_context(), force_locale("es"):
        said = {service_sentences.say(words) for words in call_progress.WORDS.values()}
    assert said.isdisjoint(call_progress.WORDS.values())


def test_a_refusal_is_said_in_spanish_on_a_spanish_screen(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    """A second liaison who tries to take a task someone holds reads why, in her language."""
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{task.id}/claim")
    second = make_user(db, Role.LIAISON, [world.home], now=NOW)
    log_in(client, second)
    _choose(client, "es")
    answer = post(client, f"/tasks/{task.id}/claim")
    page = answer.get_data(as_text=True)  # type: ignore[attr-defined]
    assert answer.status_code == 409  # type: ignore[attr-defined]
    assert "No es posible ahora" in page
    assert "otro enlace con víctimas está trabajando esta tarea" in page
