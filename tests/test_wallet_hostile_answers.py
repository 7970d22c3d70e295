"""What a wallet reads from servers it does not control: an issuer's offer and answers, the consent
ledger at a verifier's origin. Each may answer anything (an array, HTML, a lone surrogate, a number
where a count was due), and the wallet must then refuse with its typed error, not an AttributeError
or a KeyError its pages would show as a 500 (helper-78 found five such). A real HTTP server on
loopback answers as a hostile or broken one would."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from consent import pseudonym
from core.errors import AmanaError
from core.oid4vc import PRE_AUTHORIZED_GRANT
from wallet import dpop, ledger, present, receive, refresh
from wallet.credential_request import IssuanceFailed

OBJECTS = [b'{"error": ["invalid_grant"]}', b"{}", b'{"erased": "3"}', b'{"erased": -1}', b'{"erased": true}']
ANSWERS = [*OBJECTS, b"[1]", b"<html>no</html>", b'"\\ud800"', b'{"a": "\\udc00"}', b'{"erased": 1e400}',
           b'{"a": 1, "a": 2}', b"", b"[" * 100_000]  # the last nested past Python's recursion limit


class Hostile:
    """Answers every request with ``status`` and ``body``."""

    def __init__(self) -> None:
        self.status, self.body = 200, b"{}"
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(hostile.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(hostile.body)))
                self.end_headers()
                self.wfile.write(hostile.body)

            do_GET = do_POST = _answer

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def outcome(self, status: int, body: bytes, call: Callable[[httpx.AsyncClient], Awaitable[Any]]) -> Any:
        """What ``call`` returns, or the typed error it raises (any other exception fails the test)."""
        self.status, self.body = status, body

        async def run() -> Any:
            async with httpx.AsyncClient(timeout=10) as http:
                try:
                    return await call(http)
                except AmanaError as refused:
                    return refused

        return asyncio.run(run())


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    made = Hostile()
    yield made
    made.server.shutdown()


OFFER = {"credential_issuer": "https://issuer.example", "credential_configuration_ids": ["X"],
         "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": "c"}}}


@pytest.mark.parametrize("grants", [[1], "abc", 5, None, {PRE_AUTHORIZED_GRANT: [1]}])
def test_an_offer_whose_grants_are_no_object_is_refused(hostile: Hostile, grants: object) -> None:
    link = "openid-credential-offer://?credential_offer=" + quote(json.dumps({**OFFER, "grants": grants}))
    assert isinstance(hostile.outcome(200, b"{}", lambda http: receive.read_offer(http, link)), IssuanceFailed)


@pytest.mark.parametrize("status", [200, 400, 404])
@pytest.mark.parametrize("body", ANSWERS)
def test_an_issuers_answer_that_is_no_json_object_is_an_issuance_failure(hostile: Hostile, status: int,
                                                                         body: bytes) -> None:
    async def offer_by_reference(http: httpx.AsyncClient) -> Any:
        return await receive.json_body(await http.get(f"{hostile.base}/offer"), "offer")

    outcome = hostile.outcome(status, body, offer_by_reference)
    if status == 200 and body in OBJECTS:
        assert isinstance(outcome, dict)
    else:
        assert isinstance(outcome, IssuanceFailed) and str(outcome.detail).startswith("offer: ")


@pytest.mark.parametrize("body", ANSWERS)
def test_a_refresh_refused_with_any_body_is_a_typed_refusal(hostile: Hostile, body: bytes) -> None:
    outcome = hostile.outcome(400, body, lambda http: refresh.rotate(http, f"{hostile.base}/token", "rt", "X"))
    assert isinstance(outcome, AmanaError)


@pytest.mark.parametrize("body", ANSWERS)
def test_the_ledger_at_a_verifiers_origin_may_answer_anything(hostile: Hostile, body: bytes) -> None:
    key = pseudonym.new_ledger_key()
    pointer = {"ledger": f"{hostile.base}/consent", "verifier_id": "v", "record_id": "r"}
    fetched = hostile.outcome(200, body, lambda http: ledger.fetch(http, key, pointer, 0))
    assert fetched == (json.loads(body) if body in OBJECTS else None)
    erased = hostile.outcome(200, body, lambda http: ledger.erase(http, key, pointer, 0))
    assert isinstance(erased, ledger.WithdrawalRefused)


def test_the_ledgers_count_of_erased_records_is_read_when_it_is_one(hostile: Hostile) -> None:
    pointer = {"ledger": f"{hostile.base}/consent", "verifier_id": "v", "record_id": "r"}
    key = pseudonym.new_ledger_key()
    assert hostile.outcome(200, b'{"erased": 2}', lambda http: ledger.erase(http, key, pointer, 0)) == 2


@pytest.mark.parametrize("body", ANSWERS)
def test_a_verifiers_answer_or_an_issuers_refusal_may_be_anything(hostile: Hostile, body: bytes) -> None:
    """Read after the card was shared (where the verifier sends the holder next, OpenID4VP 8.2) and
    at each token request (does the issuer ask for a DPoP nonce?): a RecursionError there was a
    500 on the wallet's page after the answer had gone (helper-80)."""
    async def answered(http: httpx.AsyncClient) -> str | None:
        return present.redirect_uri(await http.post(f"{hostile.base}/response"))

    async def asks_for_nonce(http: httpx.AsyncClient) -> bool:
        return dpop._asks_for_nonce(await http.post(f"{hostile.base}/token"))

    assert hostile.outcome(200, body, answered) is None
    assert hostile.outcome(400, body, asks_for_nonce) is False
