"""The verifier's request-signing certificate (x509_hash) is made anew for the same key before it
ends: made once and kept, it was refused by every wallet after 825 days (helper-66; OpenID4VP 1.0
section 5.9.3). A check keeps the client id it was asked under (``requests.asked_under``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import NamedTuple

from core import _jose, db
from core.settings import Settings
from verifier import requests
from verifier.context import VerifierContext
from verifier.requests import Prefix
from wallet.client_ids import request_key

DAY = 86400
DAYS = (0, 1, requests.CERTIFICATE_DAYS - 31, requests.CERTIFICATE_DAYS - 29, requests.CERTIFICATE_DAYS + 5)


class Seen(NamedTuple):
    now: int
    identity: requests.Identity
    request: str


def test_the_certificate_is_made_anew_for_the_same_key_before_it_ends(tmp_path: Path) -> None:
    async def story() -> list[Seen]:
        ctx = VerifierContext.create(Settings(data_dir=tmp_path))
        await db.upgrade(ctx.engine)
        seen = []
        try:
            for day in DAYS:
                ctx.offset = day * DAY
                identity = await ctx.identity()
                seen.append(Seen(ctx.now(), identity, requests.request_object(
                    identity, Prefix.X509_HASH, response_uri="https://v.example/r", nonce="n", state="s",
                    dcql_query={"credentials": []}, now=ctx.now())))
        finally:
            await ctx.engine.dispose()
        return seen

    seen = asyncio.run(story())
    assert len({s.identity.key.public_key().thumbprint() for s in seen}) == 1  # the key the trust list names
    certificates = [s.identity.certificate_der for s in seen]
    assert certificates[0] == certificates[1] == certificates[2] != certificates[3]  # anew within 30 days of its end
    for s in seen:
        client_id = s.identity.client_id(Prefix.X509_HASH)
        assert requests.asked_under(s.request) == client_id
        header = _jose.parse_compact(s.request).unverified_header
        # What a wallet checks (wallet.client_ids): the certificate's hash and its validity now.
        key = request_key(header, client_id, "x509_hash", s.now, None)
        assert key.thumbprint() == s.identity.key.public_key().thumbprint()


def test_a_certificate_renewed_in_another_process_is_read_when_due(tmp_path: Path) -> None:
    """Two workers: the one that renews writes the row; the other reads it anew at the same point."""
    async def story() -> tuple[bytes, bytes, bytes]:
        settings = Settings(data_dir=tmp_path)
        first, second = VerifierContext.create(settings), VerifierContext.create(settings)
        await db.upgrade(first.engine)
        try:
            old = (await first.identity()).certificate_der
            assert (await second.identity()).certificate_der == old
            first.offset = second.offset = (requests.CERTIFICATE_DAYS - 29) * DAY
            renewed = (await first.identity()).certificate_der
            return old, renewed, (await second.identity()).certificate_der
        finally:
            await first.engine.dispose()
            await second.engine.dispose()

    old, renewed, read = asyncio.run(story())
    assert renewed != old and read == renewed
