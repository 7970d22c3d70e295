"""The gettext catalogues: plural forms, translator comments, .po/.mo reading, and the JSON import."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import i18n, i18n_tools
from tests.locales_copy import locales_fixture  # noqa: F401 (the fixture "locales")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.po"))}


def test_counts_choose_the_plural_form_of_each_language() -> None:
    assert i18n.t("en", "console.rows_ok", count=1).startswith("1 offer ready.")
    assert i18n.t("en", "console.rows_ok", count=2).startswith("2 offers ready.")
    assert i18n.t("fr", "wallet.notice.refreshed", n=0) == "0 nouvelle copie ajoutée."  # French: 0 is singular
    assert i18n.t("fr", "wallet.notice.refreshed", n=3) == "3 nouvelles copies ajoutées."
    assert "пропозиції" in i18n.t("uk", "console.rows_ok", count=3)
    assert "пропозицій" in i18n.t("uk", "console.rows_ok", count=5)
    assert i18n.t("ar", "console.rows_ok", count=2).startswith("عرضان")
    assert "عرضًا" in i18n.t("ar", "console.rows_ok", count=11)


def test_arabic_counts_take_their_own_forms() -> None:
    """Six forms, each its own grammar (one, two, 3-10 plural, 11-99 accusative singular): a
    catalogue with one text copied into every form read "مدة 5 دقيقة", where 5 wants دقائق."""
    for message in i18n_tools.read("ar"):
        if isinstance(message.id, tuple):
            assert len(set(message.string)) > 1, f"{message.id[0]}: every Arabic form the same"
    assert "دقائق" in i18n.t("ar", "wallet.locks_after", n=5) and "دقيقتين" in i18n.t("ar", "wallet.locks_after", n=2)
    assert "نسختان" in i18n.t("ar", "wallet.copies_left", n=2, total=3)


def test_every_entry_says_where_it_appears_and_carries_the_english() -> None:
    english = i18n.catalogues()["en"]
    for lang in i18n_tools.languages():
        for message in i18n_tools.read(lang):
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            where = " ".join(message.auto_comments)
            assert "Where: " in where and "English: " in where, (lang, key)
            if isinstance(english[key], str):
                assert english[key].split()[0] in where, (lang, key)


def test_a_stale_or_missing_mo_falls_back_to_the_po(locales: Path) -> None:
    po = locales / "fr" / "LC_MESSAGES" / "amana.po"
    i18n_tools.compile_all(force=True)
    assert i18n.t("fr", "console.login") == "Se connecter"
    po.write_text(po.read_text(encoding="utf-8").replace('"Se connecter"', '"Connexion"'), encoding="utf-8")
    mo = po.with_suffix(".mo")
    os.utime(mo, (po.stat().st_mtime - 10, po.stat().st_mtime - 10))  # a .mo older than its .po
    i18n._loaded.cache_clear()
    assert i18n.t("fr", "console.login") == "Connexion"
    mo.unlink()
    i18n._loaded.cache_clear()
    assert i18n.t("fr", "console.login") == "Connexion"
    assert i18n_tools.compile_all() == ["fr"]
    i18n._loaded.cache_clear()
    assert i18n.t("fr", "console.login") == "Connexion"


def test_importing_the_old_json_changes_nothing(locales: Path, tmp_path: Path) -> None:
    """The JSON the catalogues came from, imported again (as a merge of an older branch brings it)."""
    before = _snapshot(locales)
    out = tmp_path / "json"
    out.mkdir()
    for lang in ("en", "ar", "fa", "uk", "fr"):
        values: dict[str, object] = {"dir": "rtl" if lang in i18n.RTL else "ltr"}
        for key, text in i18n.catalogues()[lang].items():
            values[key] = text if isinstance(text, str) else text[-1]  # the JSON had one text per key
        (out / f"{lang}.json").write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
    assert i18n_tools.import_json(out.glob("*.json")) == {}
    assert _snapshot(locales) == before


def test_a_new_key_lands_in_every_catalogue_and_a_second_import_is_a_no_op(locales: Path, tmp_path: Path) -> None:
    (tmp_path / "en.json").write_text(json.dumps({"desk.hello": "Hello {name}", "console.login": "Log in"}))
    (tmp_path / "fr.json").write_text(json.dumps({"desk.hello": "Bonjour {name}"}))
    (tmp_path / "fa-AF.json").write_text(json.dumps({"desk.hello": "سلام {name}",
                                                      "console.rows_ok": "{count} پیشنهاد آماده است."}))
    report = i18n_tools.import_json(sorted(tmp_path.glob("*.json")))
    assert report == {"en": ["desk.hello", "console.login"], "fr": ["desk.hello"],
                      "fa_AF": ["desk.hello", "console.rows_ok"]}
    after = _snapshot(locales)
    assert i18n_tools.import_json(sorted(tmp_path.glob("*.json"))) == {}
    assert _snapshot(locales) == after
    i18n._loaded.cache_clear()
    assert i18n.t("en", "console.login") == "Log in"
    assert i18n.t("fr", "desk.hello", name="Ana") == "Bonjour Ana"
    assert i18n.t("fa_AF", "console.rows_ok", count=1) == "۱ پیشنهاد آماده است."  # one text in each form, Dari digits
    uk = i18n_tools.read("uk").get("desk.hello")
    assert uk is not None and uk.string == "" and "English: Hello {name}" in uk.auto_comments
    assert not i18n.has("uk", "desk.hello") or i18n.t("uk", "desk.hello", name="x") == "Hello x"  # English, never a gap
    fa_af = (locales / "fa_AF" / "LC_MESSAGES" / "amana.po").read_text(encoding="utf-8")
    assert "Plural-Forms: nplurals=2; plural=(n > 1)" in fa_af and 'msgid "sheet.title"' in fa_af


def test_a_json_list_gives_a_plural_entry_its_forms(locales: Path, tmp_path: Path) -> None:
    (tmp_path / "en.json").write_text(json.dumps({"wallet.notice.refreshed": ["One copy added.", "{n} copies added."]}))
    assert i18n_tools.import_json([tmp_path / "en.json"]) == {"en": ["wallet.notice.refreshed"]}
    i18n._loaded.cache_clear()
    assert i18n.t("en", "wallet.notice.refreshed", n=1) == "One copy added."
    assert i18n.t("en", "wallet.notice.refreshed", n=4) == "4 copies added."


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="{}\x00\r"), min_size=1,
                    max_size=80).filter(lambda s: s.strip() != ""))
def test_any_text_survives_the_po_and_mo_round_trip(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "locales"
        shutil.copytree(i18n_tools.LOCALES / "en", copy / "en", ignore=shutil.ignore_patterns("*.mo"))
        json_file = Path(tmp) / "en.json"
        json_file.write_text(json.dumps({"page.probe": text}), encoding="utf-8")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(i18n_tools, "LOCALES", copy)
            patch.setattr(i18n, "LOCALES_DIR", copy)
            patch.setattr(i18n_tools, "uses", lambda keys: {})  # the source scan is not what is tested here
            i18n_tools.import_json([json_file])
            for compiled in (False, True):
                if compiled:
                    i18n_tools.compile_all(force=True)
                i18n._loaded.cache_clear()
                assert i18n.catalogues()["en"]["page.probe"] == text
    i18n._loaded.cache_clear()


def test_json_file_names_map_to_locales() -> None:
    assert [i18n_tools.json_language(Path(n)) for n in ("en.json", "fa_AF.json", "fa-af.json", "ps.json")] == \
        ["en", "fa_AF", "fa_AF", "ps"]
