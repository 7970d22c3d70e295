"""Plain words for the W3C DPV terms a trust list registers: purposes and GDPR legal bases.

The consent screen shows the verifier's *registered* purpose and legal basis, not the
verifier's own words: the trust list's DPV IRIs are the only thing the governance operator
vouches for. This table turns them into a short phrase in the holder's language (the node's
nine: en, ar, fa, fa_AF, ps, ti, so, uk, fr). It covers the purposes in specs/queries/*.json and the six legal
bases of GDPR Art. 6(1), in DPV's core terms and its legal/eu/gdpr extension; any other IRI
falls back to its last segment, so a new term is never hidden, only less friendly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DPV = "https://w3id.org/dpv#"
GDPR = "https://w3id.org/dpv/legal/eu/gdpr#"
LANGUAGES = ("en", "ar", "fa", "fa_AF", "ps", "ti", "so", "uk", "fr")

PURPOSES: Mapping[str, Mapping[str, str]] = {
    DPV + "IdentityVerification": {
        "en": "to check who you are", "ar": "للتحقق من هويتك", "fa": "برای بررسی هویت شما",
        "uk": "щоб перевірити вашу особу", "fr": "pour vérifier votre identité",
        "fa_AF": "برای تثبیت هویت شما", "ps": "ستاسو د پېژندنې د تایید لپاره", "ti": "መንነትኩም ንምርግጋጽ",
        "so": "si loo hubiyo cidda aad tahay"},
    DPV + "LegalCompliance": {
        "en": "to meet a legal requirement", "ar": "للالتزام بمتطلب قانوني", "fa": "برای رعایت یک الزام قانونی",
        "uk": "щоб виконати вимогу закону", "fr": "pour respecter une obligation légale",
        "fa_AF": "برای رعایت یک الزام قانونی", "ps": "د یوې قانوني اړتیا د پوره کولو لپاره",
        "ti": "ሕጋዊ ግዴታ ንምምላእ", "so": "si loo buuxiyo waajib sharci ah"},
    DPV + "HumanResourceManagement": {
        "en": "for hiring and employment", "ar": "للتوظيف وشؤون العمل", "fa": "برای استخدام و امور کاری",
        "uk": "для найму та працевлаштування", "fr": "pour l'embauche et l'emploi",
        "fa_AF": "برای استخدام و امور کاری", "ps": "د استخدام او دندې لپاره", "ti": "ንቝጸራን ስራሕን",
        "so": "shaqaalaysiinta iyo shaqada"},
    DPV + "Marketing": {
        "en": "for marketing", "ar": "لأغراض التسويق", "fa": "برای بازاریابی", "uk": "для маркетингу",
        "fr": "pour le marketing", "fa_AF": "برای بازاریابی", "ps": "د بازارموندنې لپاره", "ti": "ንመወዓውዒ",
        "so": "suuq-geynta"},
}

# GDPR Art. 6(1) point -> plain words. DPV core terms and the gdpr extension's A6-1-x name the same bases.
_BASES: Mapping[str, Mapping[str, str]] = {
    "a": {"en": "you agree to it (consent)", "ar": "موافقتك", "fa": "رضایت شما", "uk": "ваша згода",
          "fr": "votre consentement", "fa_AF": "رضایت شما", "ps": "ستاسو رضایت", "ti": "ፍቓድኩም",
          "so": "ogolaanshahaaga"},
    "b": {"en": "needed for a contract with you", "ar": "ضروري لعقد معك", "fa": "لازم برای قراردادی با شما",
          "uk": "потрібно для договору з вами", "fr": "nécessaire à un contrat avec vous",
          "fa_AF": "لازم برای قراردادی با شما", "ps": "له تاسو سره د تړون لپاره اړین", "ti": "ንውዕል ምሳኹም ዘድሊ",
          "so": "loo baahan yahay heshiis adiga kula jira"},
    "c": {"en": "required by law", "ar": "يفرضه القانون", "fa": "الزام قانونی", "uk": "цього вимагає закон",
          "fr": "exigé par la loi", "fa_AF": "الزام قانونی", "ps": "قانون یې غواړي", "ti": "ሕጊ ዝጠልቦ",
          "so": "sharcigaa u baahan"},
    "d": {"en": "to protect someone's life", "ar": "لحماية حياة شخص", "fa": "برای حفاظت از جان کسی",
          "uk": "щоб захистити чиєсь життя", "fr": "pour protéger la vie de quelqu'un",
          "fa_AF": "برای حفاظت از جان کسی", "ps": "د یو چا د ژوند د ساتنې لپاره", "ti": "ህይወት ሰብ ንምድሓን",
          "so": "si loo badbaadiyo nolosha qof"},
    "e": {"en": "a task in the public interest", "ar": "مهمة للمصلحة العامة", "fa": "وظیفه‌ای به سود عموم",
          "uk": "завдання в суспільних інтересах", "fr": "une mission d'intérêt public",
          "fa_AF": "وظیفه‌ای به سود عامه", "ps": "د عامه ګټې لپاره دنده", "ti": "ንረብሓ ሕዝቢ ዝኸውን ዕማም",
          "so": "hawl loogu talagalay danta guud"},
    "f": {"en": "the verifier's legitimate interest", "ar": "مصلحة مشروعة للجهة التي تتحقق",
          "fa": "منافع مشروع درخواست‌کننده", "uk": "законний інтерес того, хто перевіряє",
          "fr": "l'intérêt légitime du vérificateur",
          "fa_AF": "منافع مشروع درخواست‌کننده", "ps": "د غوښتونکي مشروع ګټه", "ti": "ሕጋዊ ረብሓ እቲ ዘረጋግጽ",
          "so": "danta sharciga ah ee xaqiijiyaha"},
}
_BASIS_POINT: Mapping[str, str] = {
    DPV + "Consent": "a", DPV + "Contract": "b", DPV + "LegalObligation": "c", DPV + "VitalInterest": "d",
    DPV + "PublicInterest": "e", DPV + "OfficialAuthorityOfController": "e", DPV + "LegitimateInterest": "f",
    **{f"{GDPR}A6-1-{p}": p for p in "abcdef"},
}
_ARTICLE = {"en": "GDPR Art. 6(1)({})", "ar": "اللائحة العامة لحماية البيانات، المادة 6(1)({})",
            "fa": "GDPR ماده ۶(۱)({})", "uk": "GDPR ст. 6(1)({})", "fr": "RGPD art. 6(1)({})",
            "fa_AF": "GDPR ماده ۶(۱)({})", "ps": "GDPR ماده ۶(۱)({})", "ti": "GDPR ዓንቀጽ 6(1)({})",
            "so": "GDPR qodobka 6(1)({})"}


@dataclass(frozen=True, slots=True)
class Term:
    """A DPV term as the holder reads it: the IRI, plain words, and (legal bases) the article."""

    iri: str
    label: str
    article: str | None = None


def _pick(table: Mapping[str, str], lang: str) -> str:
    return table.get(lang.replace("-", "_")) or table.get(lang.replace("_", "-").split("-")[0]) or table["en"]


def _last_segment(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1] or iri


def purpose(iri: str, lang: str) -> Term:
    table = PURPOSES.get(iri)
    return Term(iri, _pick(table, lang) if table else _last_segment(iri))


def legal_basis(iri: str, lang: str) -> Term:
    point = _BASIS_POINT.get(iri)
    if point is None:
        return Term(iri, _last_segment(iri))
    return Term(iri, _pick(_BASES[point], lang), _pick(_ARTICLE, lang).format(point))
