"""core.qr_mask: the mask segno would choose, and the very code segno would make, only faster."""

from __future__ import annotations

import hashlib

import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from core import qr, qr_mask

ALPHABET = st.sampled_from("abcXYZ0189:/?&=%._-~ ")
LINK = ("https://desk.example/verifier/ask?client_id=x509_hash:3q2-7wAbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-A"
        "&request_uri=https://desk.example/verifier/requests/")


def _same(a: segno.QRCode, b: segno.QRCode) -> bool:
    return (a.matrix, a.mask, a.designator, a.mode) == (b.matrix, b.mask, b.designator, b.mode)


@settings(max_examples=60, deadline=None)
@given(text=st.text(ALPHABET, min_size=1, max_size=700), error=st.sampled_from("lmqh"), start=st.integers(0, 7))
def test_the_code_is_the_one_segno_makes(text: str, error: str, start: int) -> None:
    """Every penalty rule and the tie-break agree with segno's, whichever mask the code came with."""
    assert _same(qr_mask.with_best_mask(segno.make_qr(text, error=error, mask=start)),
                 segno.make_qr(text, error=error))


@settings(max_examples=30, deadline=None)
@given(check_id=st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                        min_size=22, max_size=22))
def test_a_desk_link_is_drawn_as_segno_draws_it(check_id: str) -> None:
    """What every check draws (about version 10 at level M): core.qr's code is segno's, module for module."""
    assert _same(qr.make.__wrapped__(LINK + check_id, 11), segno.make_qr(LINK + check_id, error="m"))


def test_the_choice_varies() -> None:
    """The comparisons above mean something only if the choice varies: over a few hundred short
    texts most of the eight masks are chosen, and the chosen one is not always the one given."""
    texts = [hashlib.sha256(str(n).encode()).hexdigest()[:n % 60 + 4] for n in range(200)]
    chosen = [qr_mask.best_mask(segno.make_qr(t, error="m", mask=0).matrix, 0) for t in texts]
    assert len(set(chosen)) >= 6
