"""Words a holder reads (#17 item 4): "wallet" means a document wallet, never a money purse;
a sentence that names a button quotes the button's own words; holder sentences stay short."""

from __future__ import annotations

import re

import pytest

from core import i18n

# The word for a wallet of documents in each language (core/locales/REVIEW.md says why).
DOCUMENT_WALLET = {"ar": "محفظة وثائق", "fa": "کیف مدارک", "fa_AF": "کیف اسناد", "ps": "د اسنادو بټوه",
                   "ti": "ናይ ሰነዳት ቦርሳ", "so": "boorsada dukumentiyada", "uk": "гаманець документів",
                   "fr": "portefeuille de documents", "en": "Wallet"}
MONEY_PURSE = {"fa": "کیف پول", "fa_AF": "کیف پول", "ar": "محفظة نقود", "uk": "гаманець для грошей"}
HOLDER_PREFIXES = ("sheet.", "offer_page.", "ask_page.", "offer.", "wallet.", "help.")


def test_the_glossary_names_the_document_wallet_in_every_language() -> None:
    for lang, word in DOCUMENT_WALLET.items():
        assert word.lower() in i18n.t(lang, "help.wallet.term").lower(), lang


@pytest.mark.parametrize("lang", sorted(MONEY_PURSE))
def test_no_holder_sentence_calls_the_wallet_a_purse(lang: str) -> None:
    purse = [key for key, text in i18n.catalogues()[lang].items() if MONEY_PURSE[lang] in _joined(text)]
    assert purse == []


def test_the_wallet_and_offer_pages_say_document_wallet_where_it_is_first_met() -> None:
    for lang in ("ar", "fa", "fa_AF", "ps", "ti", "so", "uk"):
        word = DOCUMENT_WALLET[lang].split()[-1] if lang == "uk" else DOCUMENT_WALLET[lang]
        for key in ("offer_page.have_wallet", "offer_page.no_wallet"):
            assert word in i18n.t(lang, key), (lang, key)


def test_a_sentence_that_names_a_button_quotes_its_words() -> None:
    for lang in i18n.supported():
        assert i18n.t(lang, "wallet.receive_title") in i18n.t(lang, "wallet.no_cards"), lang
        assert i18n.t(lang, "wallet.offline.keep") in i18n.t(lang, "wallet.offline.none"), lang


def test_english_holder_sentences_are_short() -> None:
    """Easy-read: one idea per sentence. A long English sentence is a sign two ideas were joined."""
    for key, text in i18n.catalogues()["en"].items():
        if key.startswith(HOLDER_PREFIXES):
            for sentence in re.split(r"(?<=[.?!:])\s+", _joined(text)):
                assert len(sentence.split()) <= 26, (key, sentence)


def _joined(message: str | tuple[str, ...]) -> str:
    """Every form of a plural entry, one after the other (a plain entry as it is)."""
    return message if isinstance(message, str) else " ".join(message)


def test_a_label_s_colon_is_the_reader_s_own() -> None:
    """French sets a no-break space before a colon (so no line starts with one); a template that
    wrote ``{{ t(...) }}:`` gave "Qui a demandé:" (helper-86). Labels now take ``page.colon``."""
    assert i18n.t("fr", "page.colon") == "\u00a0:" and i18n.t("en", "page.colon") == ":"
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    pages = [*root.glob("*/templates/*.html"), *root.glob("*/static/*.js")]
    assert len(pages) > 20
    glued = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(r"(\}\}|\})\s?:\s", text):  # a label glued to its colon, in a page or a script's text
            if page.suffix == ".html" or "textContent" in text[max(0, m.start() - 80):m.start()]:
                glued.append(f"{page.relative_to(root)}: {m.group(0)}")
    assert glued == []
