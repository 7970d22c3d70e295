"""The staff console as a browser would use it: sign-in, CSRF, cookies, rate limit, forms, languages."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core import i18n, keys
from core.settings import Settings
from issuer.app import build_app
from issuer.pages import LOGIN_MAX_FAILURES, SESSION_COOKIE
from tests.oid4vci_wallet import BASE, Wallet

SKILL_URI = "http://data.europa.eu/esco/skill/28cb374e-6261-4133-8371-f9a5470145da"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert match, "every form carries a CSRF token"
    return match.group(1)


def _signed_in(client: TestClient, key: str) -> str:
    client.cookies.clear()
    page = client.get("/issuer/console?lang=en")
    r = client.post("/issuer/console/login", data={"csrf": _csrf(page.text), "api_key": key, "lang": "en"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    return client.get("/issuer/console?lang=en").text


def test_login_page_in_every_language_with_direction(app_and_key: tuple[TestClient, str]) -> None:
    client, _ = app_and_key
    client.cookies.clear()
    for lang in ("en", "ar", "fa", "uk", "fr"):
        page = client.get(f"/issuer/console?lang={lang}")
        assert page.status_code == 200
        assert f'lang="{lang}" dir="{i18n.direction(lang)}"' in page.text
        assert i18n.t(lang, "console.login") in page.text
    assert 'dir="rtl"' in client.get("/issuer/console", headers={"Accept-Language": "fa-IR,fa;q=0.9"}).text


def test_every_locale_has_every_key() -> None:
    keys = {lang: set(catalogue) for lang, catalogue in i18n.catalogues().items() if lang not in i18n.UNFINISHED}
    assert set(keys) >= {"en", "ar", "fa", "fa_AF", "ps", "ti", "so", "uk", "fr"} - i18n.UNFINISHED
    assert all(k == keys["en"] for k in keys.values())


def test_every_locale_keeps_every_placeholder_and_its_direction() -> None:
    """A translation that drops, renames or adds a ``{name}`` would raise (or show a raw brace)
    on the page that formats it; an empty text would show nothing."""
    english = i18n.catalogues()["en"]
    for lang, catalogue in i18n.catalogues().items():
        for key, message in catalogue.items():
            wanted = {name for form in _forms(english[key]) for name in re.findall(r"\{(\w*)\}", form)}
            for text in _forms(message):
                names = set(re.findall(r"\{(\w*)\}", text))
                # A plural form may leave the count out ("the only copy"); a plain text keeps them all.
                assert names <= wanted if isinstance(message, tuple) else names == wanted, (lang, key, text)
                assert text.strip(), (lang, key)
        rtl = lang.split("_")[0] in ("ar", "fa", "ps")
        assert i18n.direction(lang) == ("rtl" if rtl else "ltr"), lang


def _forms(message: str | tuple[str, ...]) -> tuple[str, ...]:
    return (message,) if isinstance(message, str) else message


def test_pages_carry_a_strict_csp_and_no_inline_script(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    page = client.get("/issuer/console")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "http" not in csp
    home = _signed_in(client, key)
    for html in (page.text, home):
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline script"
        assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
        assert not re.search(r'(src|href)="(https?:)?//', html), "nothing from another origin"


def test_login_requires_csrf_and_the_right_key(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    client.cookies.clear()
    page = client.get("/issuer/console")
    r = client.post("/issuer/console/login", data={"csrf": "0" * 64, "api_key": key})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    # A browser's stale form goes back to its page, fresh, not to a JSON body; nobody is signed in.
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "ar"}
    r = client.post("/issuer/console/login", data={"csrf": "0" * 64, "api_key": key}, headers=browser,
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/issuer/console?lang=ar"
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    r = client.post("/issuer/console/login", data={"csrf": _csrf(page.text), "api_key": "amk_wrong"})
    assert r.status_code == 401 and SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_an_empty_key_is_said_at_the_field_and_spends_no_try(app_and_key: tuple[TestClient, str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """helper-92: an empty sign-in showed the browser's English bubble; the form is novalidate now, and
    the node says it in the page's words without counting a try (a fumbled paste is not a guess)."""
    client, key = app_and_key
    frozen = client.app.state.issuer.now()  # type: ignore[attr-defined]
    monkeypatch.setattr(client.app.state.issuer, "now", lambda: frozen)  # type: ignore[attr-defined]
    page = client.get("/issuer/console?lang=fr").text
    assert "novalidate" in re.search(r'<form[^>]*action="/issuer/console/login"[^>]*>', page).group(0)  # type: ignore[union-attr]
    for _ in range(LOGIN_MAX_FAILURES + 2):
        r = client.post("/issuer/console/login", data={"csrf": _csrf(page), "lang": "fr", "api_key": "  "})
        assert r.status_code == 400 and i18n.t("fr", "console.key_missing") in unescape(r.text)
        assert 'aria-invalid="true"' in r.text and 'aria-describedby="api-key-help api-key-error"' in r.text
    r = client.post("/issuer/console/login", data={"csrf": _csrf(page), "lang": "fr", "api_key": key},
                    follow_redirects=False)
    assert r.status_code == 303  # no try was spent


def test_login_is_rate_limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = build_app(Settings(data_dir=tmp_path, public_base_url=BASE))
    with TestClient(app, base_url=BASE) as client:
        frozen = app.state.issuer.now()  # the backoff counts seconds: none may pass on a slow machine
        monkeypatch.setattr(app.state.issuer, "now", lambda: frozen)
        token = _csrf(client.get("/issuer/console").text)
        for _ in range(LOGIN_MAX_FAILURES):
            assert client.post("/issuer/console/login", data={"csrf": token, "api_key": "amk_guess"}).status_code == 401
        assert client.post("/issuer/console/login", data={"csrf": token, "api_key": "amk_guess"}).status_code == 429


def test_issue_one_from_the_generated_form(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    for name in ("given_name", "skill.uri", "skill.label", "awarded_on", "assessment_method"):
        assert f'name="{name}"' in home  # the form comes from the credential type
    form = {"csrf": _csrf(home), "lang": "en", "type": "SkillCertificate", "given_name": "Amina",
            "family_name": "Rahimi", "skill.uri": SKILL_URI, "skill.label": "welding",
            "eqf_level": "3", "assessment_method": "practical_test", "issuing_organisation": "Open Doors",
            "awarded_on": "2026-11-20", "copies": "2", "holder_language": "fa"}
    r = client.post("/issuer/console/offer", data=form)
    assert r.status_code == 200, r.text
    assert "<svg" in r.text and re.search(r'class="pin" dir="ltr">\d{6}<', r.text)
    assert 'lang="fa" dir="rtl"' in r.text  # the sheet speaks the holder's language
    bad = dict(form, eqf_level="eleven")
    r = client.post("/issuer/console/offer", data=bad)
    assert r.status_code == 400 and "eqf_level" in r.text and "eleven" not in r.text.replace('value="eleven"', "")
    r = client.post("/issuer/console/offer", data=dict(form, csrf="f" * 64))
    assert r.status_code == 403


def test_issue_a_class_from_a_csv_upload(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    csv_text = "given_name,family_name,language\nAmina,Rahimi,fa\nOlena,,uk\nYusuf,Haddad,ar\n"
    form = {"csrf": _csrf(home), "lang": "en", "type": "SkillCertificate", "copies": "1",
            "default:skill.uri": SKILL_URI, "default:skill.label": "welding",
            "default:assessment_method": "practical_test", "default:issuing_organisation": "Open Doors",
            "default:awarded_on": "2026-11-20", "default:eqf_level": "2"}
    r = client.post("/issuer/console/class", data=form, files={"csv": ("class.csv", csv_text, "text/csv")})
    assert r.status_code == 200, r.text
    assert r.text.count('class="sheet"') == 2 and 'lang="ar" dir="rtl"' in r.text and 'lang="fa" dir="rtl"' in r.text
    # shown once: no language link to lose the PINs by, and the row's error is not printed on a sheet (helper-90)
    assert 'class="langs"' not in r.text and '<section class="card errors no-print">' in r.text
    told = re.sub(r"</?bdi>", "", r.text)  # each value isolated in <bdi>
    assert i18n.t("en", "console.row_error", row=3, error="").strip() in told and "family_name" in told


def test_a_dari_holder_and_a_dari_console_get_their_sheets(app_and_key: tuple[TestClient, str]) -> None:
    """fa_AF is the node's code, not a BCP 47 tag: the offer stores fa-AF, the sheet says lang="fa-AF"
    (it was a 500: the offer's language field refused ``fa_AF``)."""
    client, key = app_and_key
    home = _signed_in(client, key)
    form = {"csrf": _csrf(home), "lang": "fa_AF", "type": "SkillCertificate", "given_name": "Amina",
            "family_name": "Rahimi", "skill.uri": SKILL_URI, "skill.label": "welding", "eqf_level": "3",
            "assessment_method": "practical_test", "issuing_organisation": "Open Doors",
            "awarded_on": "2026-11-20", "copies": "1", "holder_language": "fa_AF"}
    r = client.post("/issuer/console/offer", data=form)
    assert r.status_code == 200 and 'class="sheet" lang="fa-AF" dir="rtl"' in r.text
    csv_text = "given_name,family_name\nAmina,Rahimi\n"
    batch = {k: v for k, v in form.items() if k in ("csrf", "lang", "type", "copies")}
    batch.update({f"default:{k}": form[k] for k in ("skill.uri", "skill.label", "eqf_level", "assessment_method",
                                                    "issuing_organisation", "awarded_on")})
    r = client.post("/issuer/console/class", data=batch, files={"csv": ("class.csv", csv_text, "text/csv")})
    assert r.status_code == 200 and 'class="sheet" lang="fa-AF" dir="rtl"' in r.text


def test_revoke_from_the_list(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    example = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
    offer = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {key}"},
                        json={"type": "SkillCertificate", "claims": example}).json()
    Wallet(client).receive(offer["link"], offer["pin"], [keys.generate()])
    home = _signed_in(client, key)
    action = re.search(r'action="(/issuer/console/credentials/[^"]+/revoke)"', home)
    assert action
    r = client.post(action.group(1), data={"csrf": _csrf(home), "lang": "en"})  # asks first (test_console_offers)
    r = client.post(action.group(1), data={"csrf": _csrf(r.text), "lang": "en", "confirm": "yes"})
    assert r.status_code == 200 and i18n.t("en", "console.status.revoked") in r.text


def test_sign_out_ends_the_session(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    session = client.cookies.get(SESSION_COOKIE)
    r = client.post("/issuer/console/logout", data={"csrf": _csrf(home), "lang": "en"}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set(SESSION_COOKIE, session or "", domain="node.amana.test")
    assert 'name="api_key"' in client.get("/issuer/console").text  # the old cookie opens nothing
