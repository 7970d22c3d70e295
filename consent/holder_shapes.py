"""What a consent record keeps of the holder, checked for its shape at the ledger's edge: a
pairwise pseudonym and the hash and language of the notice the holder was shown (the holder's
pairwise public key is checked where a record is built: ``consent.records.public_key_only``).

Pure and small on purpose: the wallet's consent offer (consent.pseudonym) and the record
(consent.records.build) apply the same rules, and nothing else here can drift from them.
"""

from __future__ import annotations

import re

from babel import Locale

from core.encoding import b64url_decode
from core.errors import MalformedToken

# What a record keeps of the holder is a pseudonym, a pairwise public key and a notice's hash, each
# checked for its shape here, at the ledger's edge, since the wallet that sends them may be anyone's
# (a foreign wallet's sub was an e-mail address). A shape limits what fits, no more: 32 bytes of
# pseudonym could still be ASCII a wallet chose, and nobody can tell keyed bytes from chosen ones.
_PSEUDONYM = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 keyed or random bytes, base64url (consent.pseudonym)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# A language tag as a consent screen is written in: language[-Script][-REGION] (BCP 47, or this
# node's catalogue codes, fa_AF), the language one Babel knows or "und"; no private-use or
# variant subtags, which could spell anything.
_LANGUAGE = re.compile(r"(?P<language>[a-z]{2,3})([-_][A-Z][a-z]{3})?([-_]([A-Z]{2}|[0-9]{3}))?", re.IGNORECASE)
_LANGUAGES = frozenset(Locale("en").languages) | {"und"}


def is_pseudonym(text: object) -> bool:
    """32 bytes in canonical base64url, as ``consent.pseudonym.subject_id`` and a random one are."""
    if not isinstance(text, str) or _PSEUDONYM.fullmatch(text) is None:
        return False
    try:
        return len(b64url_decode(text)) == 32
    except MalformedToken:
        return False


def is_notice(sha256: object, language: object) -> bool:
    """A notice as a record keeps it: a SHA-256 in lowercase hex, and a language tag."""
    if not isinstance(sha256, str) or _SHA256_HEX.fullmatch(sha256) is None or not isinstance(language, str):
        return False
    tag = _LANGUAGE.fullmatch(language)
    return tag is not None and tag["language"].lower() in _LANGUAGES
