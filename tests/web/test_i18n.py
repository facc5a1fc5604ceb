"""The console in Khmer and English: complete catalogs, the language chosen from the
profile, the switch's cookie or Accept-Language, Khmer pages with Khmer place names,
errors in the reader's language, dates and numbers per locale."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from controller.store import open_database
from controller.text import N_
from controller.web import i18n
from controller.web.profiles import ProfileStore
from controller.web.users import UserError
from tests.conftest import ROOT
from tests.web.client import TestClient
from tests.web.conftest import Console, csrf_of, sign_in

sys.path.insert(0, str(ROOT / "scripts"))
import i18n as catalogs  # scripts/i18n.py

PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")
KM = {"accept-language": "km-KH,km;q=0.9,en;q=0.5"}
# Units and names Cambodian engineers write in Latin script in Khmer text too.
LATIN_AS_IS = {
    "govnet SOC",
    "gateway",
    "subnet",
    "silence %(id)s",
    "%(rate)s Mbit/s",
    "%(value)s ms",
    "%(power)s kW",
}


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    return catalogs.extract()


def _ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


def test_every_message_of_the_templates_and_code_has_a_khmer_translation(
    extracted: Catalog,
) -> None:
    km = catalogs.load("km")
    assert len(_ids(extracted)) > 250  # the pages, forms, errors and hosting messages
    untranslated = []
    for message in extracted:
        if not message.id:
            continue
        entry = km.get(message.id)
        strings = entry.string if entry else None
        if isinstance(strings, tuple | list):
            strings = "".join(strings)
        if not strings or (entry is not None and entry.fuzzy):
            untranslated.append(message.id)
    assert untranslated == [], f"run scripts/i18n.py update and translate: {untranslated}"


def test_the_committed_catalogs_hold_exactly_the_messages_in_use(extracted: Catalog) -> None:
    in_use = _ids(extracted)
    for language in i18n.LANGUAGES:
        assert _ids(catalogs.load(language)) == in_use, f"{language}: run scripts/i18n.py update"


def test_placeholders_match_between_each_msgid_and_its_khmer_msgstr() -> None:
    km = catalogs.load("km")
    problems = [(m.id, [str(e) for e in errors]) for m, errors in km.check()]
    assert problems == []  # Babel's python-format checker
    for message in km:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == wanted, (message.id, text)
            # a literal % is written %% on both sides (new-style gettext formats always)
            assert text.count("%%") == ids[0].count("%%"), (message.id, text)


def test_khmer_msgstrs_are_khmer_script_and_keep_technical_terms_latin() -> None:
    km = catalogs.load("km")
    khmer = re.compile(r"[\u1780-\u17ff]")
    latin_terms = ("VLAN", "ICMP", "Alertmanager", "NDC", "DR", "SOC", "kW", "CSRF")
    for message in km:
        if not message.id or not isinstance(message.id, str):
            continue
        text = message.string
        words = re.sub(PLACEHOLDER, "", message.id)
        if re.search(r"[a-z]{3}", words) and message.id not in LATIN_AS_IS:
            assert khmer.search(text), f"{message.id!r} is not in Khmer: {text!r}"
        for term in latin_terms:
            if re.search(rf"\b{term}\b", message.id):
                assert term in text, f"{term} kept in Latin script: {message.id!r} → {text!r}"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("km", "km"),
        ("km-KH,km;q=0.9,en-US;q=0.8,en;q=0.7", "km"),
        ("en-US,en;q=0.9,km;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,km;q=0.5", "km"),  # the first of ours in the browser's order
        ("en;q=0.1,km;q=0.9", "km"),  # weights, not order
        ("km;q=0,en;q=0.5", "en"),  # q=0: not acceptable
        ("fr, de", None),
        ("", None),
        ("*;q=1, km;q=garbage", None),
    ],
)
def test_accept_language_is_read_by_weight(header: str, language: str | None) -> None:
    assert i18n.negotiate(header) == language


def test_the_profile_wins_over_the_cookie_and_the_browser() -> None:
    assert i18n.choose("km", "en", "en") == "km"
    assert i18n.choose(None, "km", "en") == "km"
    assert i18n.choose(None, None, "km") == "km"
    assert i18n.choose(None, "xx", None) == "en"  # an unknown cookie is ignored


def test_dates_numbers_and_durations_are_formatted_per_locale() -> None:
    moment = datetime(2026, 12, 1, 13, 5, 9, tzinfo=UTC)
    assert i18n.when(moment, "en") == "2026-12-01 13:05:09 UTC"
    khmer = i18n.when(moment, "km")
    assert "ធ្នូ" in khmer and "2026" in khmer and "13:05:09" in khmer  # December, CLDR km
    assert i18n.when("2026-12-01T13:05:09Z", "km") == khmer  # the store's ISO strings
    assert i18n.number(12345.5, "en") == "12,345.5"
    assert i18n.number(12345.5, "km") == "12,345.5"  # CLDR km: the same symbols
    assert i18n.percent(0.123, "km") == "12.3%"
    assert i18n.age(65, "en") == "1m 05s"
    assert i18n.age(65, "km") == "1 នាទី 05 វិនាទី"
    assert i18n.age(3 * 86400 + 4 * 3600, "km") == "3 ថ្ងៃ 4 ម៉ោង"


def test_a_text_is_english_until_it_is_shown_in_khmer() -> None:
    message = N_("no province %(code)s in the inventory", code="'KH-99'")
    assert message == "no province 'KH-99' in the inventory"  # logs, the CLI, the API
    assert i18n.translate(message, "km") == "គ្មានខេត្ត 'KH-99' ក្នុងបញ្ជីសារពើភណ្ឌទេ"
    assert i18n.translate("plain", "km") == "plain"


def test_accept_language_khmer_gives_the_overview_in_khmer_with_khmer_province_names(
    client: TestClient,
) -> None:
    sign_in(client, "alice")
    page = client.get("/", headers=KM)
    assert page.status_code == 200
    assert '<html lang="km">' in page.text
    assert "ទិដ្ឋភាពទូទៅថ្នាក់ជាតិ" in page.text  # National overview
    for name in ("ខេត្តបាត់ដំបង", "ខេត្តសៀមរាប", "រាជធានីភ្នំពេញ"):
        assert name in page.text
    assert "ឃុំ/សង្កាត់ដំណើរការ <strong>4</strong>/4" in page.text  # communes up
    # the tiles name provinces in Khmer (the national map's SVG labels, drawn in Python
    # by views/map.py, are English still)
    assert '<span class="name">ខេត្តបាត់ដំបង</span>' in page.text
    assert '<span class="name">Battambang</span>' not in page.text
    assert "Sign out" not in page.text
    english = client.get("/")  # no Accept-Language: English, as before
    assert '<html lang="en">' in english.text and "National overview" in english.text
    assert "Battambang" in english.text


def test_province_and_site_pages_show_commune_names_in_khmer(client: TestClient) -> None:
    sign_in(client, "erin")
    province = client.get("/provinces/KH-12", headers=KM)
    assert "<h1>រាជធានីភ្នំពេញ" in province.text
    assert "សង្កាត់ទន្លេបាសាក់" in province.text and "សង្កាត់" in province.text
    site = client.get("/sites/120101", headers=KM)
    assert "សង្កាត់ទន្លេបាសាក់" in site.text and "រាជធានីភ្នំពេញ" in site.text


def test_the_switch_sets_the_profile_which_follows_the_user_to_another_browser(
    console: Console,
) -> None:
    with TestClient(console.app, follow_redirects=False) as first:
        csrf = sign_in(first, "alice")
        assert 'name="language" value="km"' in first.get("/alerts").text  # on every page
        switched = first.post(
            "/language",
            data={"language": "km", "next": "/alerts?severity=critical", "csrf_token": csrf},
        )
        assert switched.status_code == 303
        assert switched.headers["location"] == "/alerts?severity=critical"
        assert "govnet_lang=km" in switched.headers["set-cookie"]
        page = first.get("/alerts", headers={"accept-language": "en"})
        assert '<html lang="km">' in page.text  # the profile beats the browser
    assert ProfileStore(console.settings.profiles_file).language("alice") == "km"
    with TestClient(console.app, follow_redirects=False) as second:  # another browser
        sign_in(second, "alice")
        assert "ការជូនដំណឹង" in second.get("/alerts").text
        other = second.get("/provinces/KH-2")
        assert "<h1>ខេត្តបាត់ដំបង" in other.text


def test_the_sign_in_page_switches_language_before_anyone_signs_in(client: TestClient) -> None:
    form = client.get("/login")
    assert "ចូលប្រើ" not in form.text
    switched = client.post(
        "/language", data={"language": "km", "next": "/login", "csrf_token": csrf_of(form.text)}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    page = client.get("/login")
    assert "<h1>ចូលប្រើ</h1>" in page.text and "ពាក្យសម្ងាត់" in page.text  # Sign in, Password
    wrong = client.post(
        "/login",
        data={"username": "alice", "password": "not it at all", "csrf_token": csrf_of(page.text)},
    )
    assert wrong.status_code == 401
    assert "ឈ្មោះអ្នកប្រើ ឬពាក្យសម្ងាត់មិនត្រឹមត្រូវ។" in wrong.text


def test_the_switch_refuses_other_languages_and_returns_only_to_local_pages(
    client: TestClient,
) -> None:
    csrf = sign_in(client, "alice")
    bad = client.post("/language", data={"language": "fr", "csrf_token": csrf})
    assert bad.status_code == 400 and "choose km or en" in bad.text
    for target in ("//evil.example/", "https://evil.example/", "/alerts\r\nX: y", "javascript:1"):
        moved = client.post(
            "/language", data={"language": "en", "next": target, "csrf_token": csrf}
        )
        assert moved.status_code == 303 and moved.headers["location"] == "/"
    refused = client.post("/language", data={"language": "km"})  # no CSRF token
    assert refused.status_code == 403


def test_errors_are_shown_in_the_readers_language(client: TestClient) -> None:
    sign_in(client, "alice")
    missing = client.get("/provinces/KH-99", headers=KM)
    assert missing.status_code == 404
    assert "គ្មានខេត្ត &#39;KH-99&#39; ក្នុងបញ្ជីសារពើភណ្ឌទេ" in missing.text
    bad = client.get("/alerts?severity=loud", headers=KM)
    assert bad.status_code == 400 and "កម្រិតធ្ងន់ធ្ងរ &#39;loud&#39;" in bad.text
    api = client.get("/api/alerts?severity=loud", headers=KM)  # the API stays English
    assert api.json() == {"error": "severity 'loud': choose one of critical, major, warning, info"}
    forbidden = client.get("/hosting/new", headers=KM)  # a SOC operator may not request
    assert forbidden.status_code == 403 and "មន្ត្រីបង្គោល ឬវិស្វករ" in forbidden.text


def test_the_profiles_schema_is_a_store_migration(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.db")
    assert store.language("alice") is None
    store.set_language("alice", "km")
    store.set_language("alice", "en")
    store.set_language("bora", "km")
    assert (store.language("alice"), store.language("bora")) == ("en", "km")
    store.forget("bora")
    assert store.language("bora") is None
    with pytest.raises(UserError, match="choose en or km"):
        store.set_language("alice", "fr")
    assert open_database(tmp_path / "profiles.db", "profiles").version() == 1


def test_khmer_pages_show_a_rules_khmer_summary_and_english_pages_the_english_one(
    client: TestClient, console: Console
) -> None:
    from tests.web.fakes import am_alert

    console.alertmanager.raw = [
        am_alert(
            "b000000000000001",
            {"alertname": "GovnetProvinceDown", "severity": "critical", "province": "KH-2"},
            {
                "summary": "Province KH-2 is cut off: pr-kh2 is down",
                "summary_km": "ខេត្ត KH-2 ត្រូវបានផ្ដាច់៖ pr-kh2 ដាច់",
            },
        ),
        am_alert("b000000000000002", {"alertname": "GovnetCoreDown", "severity": "major"}),
    ]
    sign_in(client, "alice")
    khmer = client.get("/alerts", headers=KM).text
    assert "ខេត្ត KH-2 ត្រូវបានផ្ដាច់៖ pr-kh2 ដាច់" in khmer
    assert "GovnetCoreDown summary" in khmer  # no summary_km: the English one
    assert "ធ្ងន់ធ្ងរខ្លាំង" in khmer and "ធ្ងន់ធ្ងរ" in khmer  # critical, major
    english = client.get("/alerts").text
    assert "Province KH-2 is cut off: pr-kh2 is down" in english and "ផ្ដាច់" not in english
    page = client.get("/alerts/b000000000000001", headers=KM).text
    assert '<p class="summary-large">ខេត្ត KH-2 ត្រូវបានផ្ដាច់៖ pr-kh2 ដាច់</p>' in page


def test_every_alert_rule_has_a_khmer_summary_with_the_same_placeholders() -> None:
    import yaml

    token = re.compile(r"\{\{.*?\}\}")
    for path in sorted((ROOT / "soc/rules").glob("*.yml")):
        if path.name.endswith("_test.yml"):
            continue
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                notes = rule.get("annotations", {})
                if "summary" not in notes:
                    continue
                assert "summary_km" in notes, f"{path.name}: {rule['alert']} has no summary_km"
                english = [t for t in token.findall(notes["summary"]) if "none configured" not in t]
                khmer = [t for t in token.findall(notes["summary_km"]) if "មិនបានកំណត់" not in t]
                assert sorted(english) == sorted(khmer), rule["alert"]
                assert re.search(r"[\u1780-\u17ff]", notes["summary_km"]), rule["alert"]


def test_the_khmer_catalog_writes_numbers_in_latin_digits() -> None:
    """GLOSSARY.md, "Digits": Latin digits in everything govnet writes, as CLDR km."""
    khmer_digit = re.compile("[\u17e0-\u17e9]")
    for message in catalogs.load("km"):
        strings = [message.string] if isinstance(message.string, str) else message.string
        assert not any(khmer_digit.search(s or "") for s in strings), message.id
    assert i18n.number(1652, "km") == "1,652" and i18n.percent(0.9995, "km", 2) == "99.95%"
