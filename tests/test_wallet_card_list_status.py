"""The wallet's card list asks the cards' status lists (wallet.status.of_cards), bounded, since the
cards are whatever a wallet holds, an imported one included (helper-91): only an issuer on the trust
list is asked, with that list's keys; each list once, at most MAX_LISTS of them, kept for its
lifetime; what has not come within the time given is unknown, and nothing asked outlives the call.
Over HTTP on loopback, from a bare server playing the issuers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest

from core import keys, statuslist
from core.fetch import AddressPolicy, Fetcher
from wallet import status

KEY = keys.generate("ES256", kid="k1")
NOW = int(time.time())


class Lists:
    """A loopback server of status list tokens: /list/N (entry 1 revoked), /slow (answers late)."""

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()
        lists = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                lists.asked[self.path] += 1
                if self.path == "/slow":
                    time.sleep(1.5)
                listed = statuslist.StatusList.empty(16)
                listed.set(1, statuslist.INVALID)
                body = statuslist.sign_token(listed, uri=lists.base + self.path, key=KEY, now=NOW, ttl=300).encode()
                self.send_response(200)
                self.send_header("Content-Type", statuslist.MEDIA_TYPE)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture()
def lists() -> Iterator[Lists]:
    served = Lists()
    threading.Thread(target=served.server.serve_forever, daemon=True).start()
    yield served
    served.server.shutdown()


class _Accredited:
    def public_keys(self) -> list[keys.PublicKey]:
        return [KEY.public_key()]


class _TrustList:
    """The trust list's one question here: is this issuer on it, and with which keys."""

    def issuer(self, issuer_id: str) -> _Accredited | None:
        return _Accredited() if issuer_id == "https://ngo.example" else None


def _card(issuer: str, uri: str, idx: int) -> tuple[str, dict[str, Any]]:
    return issuer, {"status": statuslist.reference(uri, idx)}


def _asked(lists: Lists, cards: list[tuple[str, dict[str, Any]]], fetcher: Fetcher,
           within_s: float = 2.0) -> list[str]:
    return list(asyncio.run(status.of_cards(fetcher, cards, cast(Any, _TrustList()), NOW, within_s)))


def _fetcher() -> Fetcher:
    return Fetcher(AddressPolicy(allow_http=True, allow_loopback=True))


def test_a_list_shared_by_cards_is_read_once_and_kept_and_an_unlisted_issuer_is_not_asked(lists: Lists) -> None:
    ngo, stranger, fetcher = "https://ngo.example", "https://stranger.example", _fetcher()
    cards = [_card(ngo, f"{lists.base}/list/1", 0), _card(ngo, f"{lists.base}/list/1", 1),
             _card(stranger, f"{lists.base}/list/9", 1)]
    assert _asked(lists, cards, fetcher) == ["valid", "revoked", "unknown"]
    assert _asked(lists, cards, fetcher) == ["valid", "revoked", "unknown"]  # from what the fetcher keeps
    assert lists.asked == Counter({"/list/1": 1})  # once, for both cards and both pages; the stranger never


def test_at_most_max_lists_are_asked_and_a_late_one_is_unknown_and_given_up(lists: Lists) -> None:
    ngo = "https://ngo.example"
    many = [_card(ngo, f"{lists.base}/list/{n}", 1) for n in range(status.MAX_LISTS + 2)]
    said = _asked(lists, many, _fetcher())
    assert said == ["revoked"] * status.MAX_LISTS + ["unknown"] * 2
    assert len(lists.asked) == status.MAX_LISTS
    started = time.monotonic()
    assert _asked(lists, [_card(ngo, f"{lists.base}/slow", 1)], _fetcher(), within_s=0.3) == ["unknown"]
    assert time.monotonic() - started < 1.4  # not waited for
