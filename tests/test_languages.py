"""The desk in its reader's language: the catalogs are complete and consistent, the right language is
chosen, and every page renders with no English left where the reader's language should be."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import uuid
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.test import Client, RequestFactory
from django.utils import translation

from exportjobs.models import Profile
from exportjobs.sandbox import seed
from tests.helpers import job_payload, text_of

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
LANGUAGES = ("da", "sv", "de", "es", "fr")
PASSWORD = "a-long-test-password"
FAILED = seed.DOC_SAMPLE_ID
PARTLY = seed.job_uuid("completed_with_errors")
LARGE = seed.job_uuid("large")

# %(name)s, %s, %d, {name}: what a translation must keep exactly as the source has it.
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdr]|%[sdr]|\{[a-z_]+\}")


def catalog(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as handle:
        return read_po(handle, locale=language)


def messages(language: str):
    return [message for message in catalog(language) if message.id]


def ids(message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple) else [message.id]


def strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


# --- the catalogs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_not_fuzzy_with_the_same_placeholders(language):
    found = messages(language)
    assert len(found) > 300, "the catalog looks empty: run `make translations`"
    problems = []
    for message in found:
        source = ids(message)
        if message.fuzzy:
            problems.append(f"fuzzy: {source[0]!r}")
        if not all(text.strip() for text in strings(message)):
            problems.append(f"untranslated: {source[0]!r}")
            continue
        for text in strings(message):
            # a plural's forms may leave the count out (e.g. "one job" for 1), never add or rename one
            wanted, got = Counter(PLACEHOLDER.findall(source[-1])), Counter(PLACEHOLDER.findall(text))
            if isinstance(message.id, tuple):
                wanted_set = set(PLACEHOLDER.findall(source[0])) | set(wanted)
                if not set(got) <= wanted_set:
                    problems.append(f"placeholders {sorted(got)} for {sorted(wanted_set)}: {source[0]!r}")
            elif got != wanted:
                problems.append(f"placeholders {sorted(got.elements())} for {sorted(wanted.elements())}: {source[0]!r}")
    assert problems == []


def test_the_mo_files_are_built_from_the_po_files():
    for language in LANGUAGES:
        po = LOCALE / language / "LC_MESSAGES" / "django.po"
        mo = po.with_suffix(".mo")
        assert mo.is_file(), f"{mo} is missing: run `make messages`"
        assert mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is older than its .po: run `make messages`"


def test_no_compiled_catalog_is_committed():
    tracked = subprocess.run(["git", "ls-files", "locale"], cwd=ROOT, capture_output=True, text=True, check=False)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    assert not [name for name in tracked.stdout.split() if name.endswith(".mo")]


def test_the_catalogs_hold_every_string_of_the_code_and_templates(tmp_path):
    """``make translations`` would change nothing: no string the code or a template marks is missing."""
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("xgettext (gettext) is missing in CI")
        pytest.skip("xgettext (gettext) is not installed")
    copy = tmp_path / "desk"
    for name in ("exportjobs", "templates", "dashboard"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    (copy / "locale").mkdir()
    env = {**os.environ, "READ_DOT_ENV": "0", "SECRET_KEY": "x" * 64, "DJANGO_SETTINGS_MODULE": "dashboard.settings"}
    command = [
        os.sys.executable,
        "manage.py",
        "makemessages",
        "--no-location",
        "-l",
        "de",
        "--ignore=exportjobs/sandbox/server.py",
    ]
    subprocess.run(command, cwd=copy, env=env, check=True, capture_output=True)
    with (copy / "locale" / "de" / "LC_MESSAGES" / "django.po").open("rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    have = {message.id for message in catalog("de")}
    assert sorted(map(str, wanted - have)) == []


# --- the glossary ------------------------------------------------------------------------------------


def glossary(language: str) -> list[tuple[str, list[str]]]:
    """``locale/<language>/glossary.tsv``: English term, the term(s) to use (``|`` between), a note."""
    entries = []
    for line in (LOCALE / language / "glossary.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        english, target, *_ = line.split("\t")
        entries.append((english.strip(), [term.strip().lower() for term in target.split("|")]))
    return entries


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_glossarys_terms_are_used_wherever_the_english_term_is(language):
    entries = glossary(language)
    assert len(entries) >= 12
    found = messages(language)
    misses = []
    for english, targets in entries:
        pattern = re.compile(rf"\b{re.escape(english)}", re.IGNORECASE)
        uses = [message for message in found if any(pattern.search(text) for text in ids(message))]
        assert uses, f"glossary term {english!r} is not in any message"
        for message in uses:
            if not any(target in text.lower() for text in strings(message) for target in targets):
                misses.append(f"{english} → {'|'.join(targets)}: {ids(message)[0]!r} → {strings(message)[0]!r}")
    assert misses == []


# --- which language -----------------------------------------------------------------------------------


def page_language(response) -> str:
    return re.search(r'<html lang="([a-z-]+)">', response.content.decode()).group(1)


def test_the_browsers_language_is_used_else_language_code(client, settings):
    assert page_language(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="da,en;q=0.5")) == "da"
    assert page_language(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-AT")) == "de"
    assert page_language(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ja")) == "en"
    assert page_language(client.get("/accounts/login/")) == "en"
    settings.LANGUAGE_CODE = "sv"
    assert page_language(Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ja")) == "sv"


def test_the_saved_choice_wins_over_the_browser_and_follows_the_user(client, finance_user, sandbox):
    client.force_login(finance_user)
    response = client.post("/language/", {"language": "fr", "next": "/"}, HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 302
    assert Profile.objects.get(user=finance_user).language == "fr"
    assert page_language(client.get("/", HTTP_ACCEPT_LANGUAGE="de")) == "fr"
    # another device: signs in with a German browser and gets French
    other = Client()
    other.post("/accounts/login/", {"username": "fiona", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="de")
    assert page_language(other.get("/", HTTP_ACCEPT_LANGUAGE="de")) == "fr"
    # the address does not change with the language
    assert other.get(f"/jobs/{FAILED}/", HTTP_ACCEPT_LANGUAGE="de").status_code == 200


def test_a_choice_must_be_a_desk_language_and_goes_back_only_to_this_site(client, finance_user):
    client.force_login(finance_user)
    response = client.post("/language/", {"language": "xx", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert not Profile.objects.filter(user=finance_user).exists()
    response = client.post("/language/", {"language": "sv"}, HTTP_REFERER="http://testserver/bulk/?ids=x")
    assert response["Location"] == "http://testserver/bulk/?ids=x"
    assert response.cookies["desk_language"].value == "sv"
    assert client.get("/language/").status_code == 405


def test_a_choice_on_the_sign_in_page_becomes_the_users_own(client, finance_user):
    client.post("/language/", {"language": "es", "next": "/accounts/login/"})
    assert page_language(client.get("/accounts/login/")) == "es"
    client.post("/accounts/login/", {"username": "fiona", "password": PASSWORD})
    assert Profile.objects.get(user=finance_user).language == "es"


# --- every page in the reader's language -----------------------------------------------------------

SKIPPED_ELEMENTS = {"script", "style", "code", "pre"}
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
# Names, not words: the product, the service, the sample company, the signed-in user, time zones.
NOT_WORDS = {"Export Job Desk", "Pleo", "Nordlys ApS", "fiona", "outsider", "UTC", "EN", "DA", "SV", "DE", "ES", "FR"}


class VisibleText(HTMLParser):
    """The text nodes and text attributes a reader sees, outside codes, Pleo's own words (``<pre>``) and
    anything marked with a language of its own."""

    VOID = frozenset({"br", "wbr", "img", "input", "meta", "link", "hr", "source", "col", "area", "base", "embed"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.found: list[str] = []

    def skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        # An element that says its own language (each language's name in the menu, the English copy of
        # the ticket text, a technical detail kept in English) is that language on purpose.
        # Text marked translate="no" is Pleo's data (a note someone wrote, a company's name), never the desk's.
        skip = tag in SKIPPED_ELEMENTS or (tag != "html" and "lang" in values) or values.get("translate") == "no"
        if tag not in self.VOID:
            self.stack.append((tag, skip))
        if not (skip or self.skipping()):
            self.found.extend(value for name, value in attrs if name in ATTRIBUTES and value)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self.skipping():
            self.found.append(text)


def visible_texts(page: str) -> list[str]:
    parser = VisibleText()
    parser.feed(page)
    return parser.found


def words_of(text: str) -> bool:
    """Text with at least one word of three letters that is not a name."""
    for name in NOT_WORDS:
        text = text.replace(name, " ")
    text = re.sub(r"https?://\S+|[0-9a-f]{8}-[0-9a-f-]{27}", " ", text)  # addresses and ids
    return bool(re.search(r"[A-Za-z]{3,}", text))


def the_pages(desk, sandbox, settings, django_user_model):
    """Every page the reader's language must cover, as (name, request) to make with a client."""
    settings.PLEO_API_TIMEOUT = 0.3
    settings.PLEO_SANDBOX = True  # the home page lists the sandbox's sample jobs, by title, in groups
    job = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
    pages = {
        "job from a link on another site": ("desk", f"/jobs/{seed.job_uuid('large')}/", "cross-site"),
        "home": ("desk", "/"),
        "failed job": ("desk", f"/jobs/{FAILED}/"),
        "partly exported job": ("desk", f"/jobs/{PARTLY}/"),
        "large job": ("desk", f"/jobs/{LARGE}/?entries=1&page=2"),
        "completed job": ("desk", f"/jobs/{seed.job_uuid('completed')}/?entries=1"),
        "bulk": ("desk", f"/bulk/?ids={FAILED}+{seed.NOT_FOUND_EXAMPLE}+{PARTLY}"),
        "bulk from a link on another site": ("desk", f"/bulk/?ids={FAILED}+{PARTLY}", "cross-site"),
        "two ids": ("desk", f"/lookup/?job_id={FAILED}+{PARTLY}"),
        "bad id": ("desk", "/lookup/?job_id=nothing"),
        "attention": ("desk", "/attention/"),
        "job not found": ("desk", f"/jobs/{seed.NOT_FOUND_EXAMPLE}/"),
        "page not found": ("desk", "/no-such-page/"),
        "Pleo refused the desk": ("desk", f"/jobs/{seed.job_uuid('fault:401')}/"),
        "Pleo unavailable": ("desk", f"/jobs/{seed.job_uuid('fault:503')}/"),
        "Pleo rate-limits": ("desk", f"/jobs/{seed.job_uuid('fault:429')}/"),
        "Pleo too slow": ("desk", f"/jobs/{seed.job_uuid('fault:timeout')}/"),
        "Pleo's broken answer": ("desk", f"/jobs/{seed.job_uuid('fault:malformed')}/"),
        "no access": ("outsider", "/"),
        "sign in": ("anonymous", "/accounts/login/"),
        "signed out": ("anonymous", f"/jobs/{job}/"),
    }
    outsider = Client()
    outsider.force_login(django_user_model.objects.create_user("outsider", password=PASSWORD))
    return pages, {"desk": desk, "outsider": outsider, "anonymous": Client()}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_renders_with_no_english_left(desk, sandbox, settings, django_user_model, language):
    pages, clients = the_pages(desk, sandbox, settings, django_user_model)
    translated = {text for message in messages(language) for text in strings(message)}
    # A message whose translation is the source itself ("%(minutes)d min" in Spanish) fills in to text
    # that reads the same in both languages: such text is translated.
    same = [
        re.compile(".+?".join(map(re.escape, PLACEHOLDER.split(text))) + r"\Z")
        for message in messages(language)
        for text in strings(message)
        if text in ids(message) and PLACEHOLDER.search(text)
    ]
    problems = []
    for name, (who, path, *came_from) in pages.items():
        client = clients[who]
        site = {"HTTP_SEC_FETCH_SITE": came_from[0] if came_from else "same-origin"}
        english = client.get(path, HTTP_ACCEPT_LANGUAGE="en", follow=True, **site).content.decode()
        local = client.get(path, HTTP_ACCEPT_LANGUAGE=language, follow=True, **site).content.decode()
        assert f'<html lang="{language}">' in local, name
        shown = set(visible_texts(local))
        for text in set(visible_texts(english)):
            if words_of(text) and text in shown and text not in translated and not any(p.match(text) for p in same):
                problems.append(f"{name}: {text!r}")
    assert problems == []


def test_the_500_page_is_in_the_readers_language(rf: RequestFactory):
    from exportjobs.views import errors as views

    request = rf.get("/", HTTP_ACCEPT_LANGUAGE="de")
    request.request_id = "abc123def456"
    with translation.override("de"):
        page = views.server_error(request).content.decode()
    assert '<html lang="de">' in page
    assert "Something went wrong" not in page


def test_the_lock_out_page_is_in_the_readers_language(client, finance_user):
    for _ in range(5):
        response = client.post(
            "/accounts/login/",
            {"username": "fiona", "password": "wrong"},
            REMOTE_ADDR="10.0.0.7",
            HTTP_ACCEPT_LANGUAGE="sv",
        )
    assert response.status_code == 429
    assert '<html lang="sv">' in response.content.decode()
    assert "Sign-in is paused" not in response.content.decode()


# --- dates, numbers and Pleo's own words --------------------------------------------------------------


def test_dates_and_numbers_follow_the_readers_locale(desk, sandbox, settings):
    settings.TIME_ZONE = "UTC"
    job = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
    sandbox.state.put_job(
        job_payload(job, numberOfItems=12345, createdAt="2025-11-28T15:31:45Z", completedAt="2025-11-28T16:02:00Z")
    )
    da = text_of(desk.get(f"/jobs/{job}/", HTTP_ACCEPT_LANGUAGE="da").content.decode())
    assert "28. nov. 2025 15.31 UTC" in da  # to the minute
    assert "12.345" in da
    de = text_of(desk.get(f"/jobs/{job}/", HTTP_ACCEPT_LANGUAGE="de").content.decode())
    assert "28.11.2025, 15:31 UTC" in de
    fr = desk.get(f"/jobs/{job}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "12\u202f345" in fr  # a narrow no-break space between thousands
    page = desk.get(f"/jobs/{job}/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert '<time datetime="2025-11-28T15:31:45Z"' in page  # machine-readable as Pleo sent it
    assert '"numberOfItems": 12345' in html.unescape(page)  # the raw JSON as sent


def test_relative_times_are_in_the_readers_language(desk, sandbox):
    page = text_of(desk.get(f"/jobs/{FAILED}/", HTTP_ACCEPT_LANGUAGE="da").content.decode())
    assert re.search(r"\(for [^)]+ siden\)", page)
    assert " ago)" not in page


def test_pleos_message_stays_as_pleo_sent_it_under_a_label_in_the_readers_language(desk, sandbox):
    page = desk.get(f"/jobs/{FAILED}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Login to the accounting system failed: the refresh token has expired." in page
    assert "Pleo's message, word for word" not in page


# --- the ticket text ----------------------------------------------------------------------------------


def test_copy_for_ticket_is_in_the_pages_language_with_an_english_version_beside_it(desk, sandbox):
    page = desk.get(f"/jobs/{FAILED}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    local = re.search(r'<pre id="ticket-text"[^>]*>(.*?)</pre>', page, re.S).group(1)
    english = re.search(r'<pre id="ticket-text-en"[^>]*lang="en"[^>]*>(.*?)</pre>', page, re.S).group(1)
    assert f"Pleo export job {FAILED}" in english
    assert f"Pleo export job {FAILED}" not in local
    assert FAILED in local
    assert 'data-copy-from="ticket-text-en"' in page


# --- JavaScript ----------------------------------------------------------------------------------------


def test_desk_js_carries_no_english_of_its_own():
    source = (ROOT / "static" / "exportjobs" / "desk.js").read_text()
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", source, flags=re.S)
    literals = re.findall(r'"([^"\\]*)"', code)
    sentences = [text for text in literals if re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", text) and text != "use strict"]
    assert sentences == []


def test_the_js_texts_come_from_the_page_in_its_language(desk, sandbox):
    page = desk.get(f"/jobs/{FAILED}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    body = re.search(r"<body[^>]*>", page).group(0)
    assert 'data-locale="fr"' in body  # the browser writes a viewer's own zone in the page's format
    assert "Your time" not in page
    assert re.search(r'data-copied="[^"]+"', page)
    assert 'data-copied="Copied' not in page


# --- words a finance reader stumbled over ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "opening"),
    [
        ("de", "Die Buchungen konnten nicht geladen werden."),
        ("fr", "Les écritures n'ont pas pu être chargées."),
        ("en", "The entries could not be loaded."),
    ],
)
def test_the_entries_notice_keeps_the_errors_title_as_it_is_written(desk, sandbox, language, opening):
    """Never "… : pleo hat eine antwort …": the error's title stays a sentence of its own, capitals kept."""
    from exportjobs import policy, services
    from exportjobs.pleo.errors import PleoUnavailable

    job = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
    sandbox.state.put_job(job_payload(job, status="completed_with_errors", numberOfItems=5))
    services.job_get(job_id=uuid.UUID(job))  # the job is cached; its entries are not
    sandbox.state.add_fault(job, "503")
    words = text_of(desk.get(f"/jobs/{job}/", HTTP_ACCEPT_LANGUAGE=language).content.decode())
    with translation.override(language):
        title = str(policy.policy_of(PleoUnavailable("down")).words.title)
    assert title[0].isupper()
    assert f"{opening} {title}." in words


@pytest.mark.parametrize(
    ("language", "labels"),
    [
        ("sv", ["Exporterade", "Misslyckade"]),
        ("es", ["Exportados", "Fallidos"]),
        ("fr", ["Exportées", "En échec"]),
    ],
)
def test_entry_counts_are_labelled_in_the_plural(desk, sandbox, language, labels):
    page = desk.get(f"/jobs/{PARTLY}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    counts = re.search(r'<dl class="facts counts">(.*?)</dl>', page, re.S).group(1)
    shown = re.findall(r"<dt>([^<]+)</dt>", counts)
    assert shown[:2] == labels  # "Exporterade 32", never "Exporterad 32"


@pytest.mark.parametrize("language", ["en", *LANGUAGES])
def test_the_language_menus_name_contains_its_visible_text(desk, sandbox, language):
    page = desk.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    summary = re.search(r'<details class="language-menu">\s*<summary([^>]*)>(.*?)</summary>', page, re.S)
    assert "aria-label" not in summary.group(1)  # named by its content, so the name holds what is seen
    assert f'<span class="language-code">{language.upper()}</span>' in summary.group(2)
    assert '<span class="visually-hidden">' in summary.group(2)
