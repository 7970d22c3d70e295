"""Issue 11: whatever a status or key URL is, the wallet's direct_post is answered and the check
ends with a statement ("status unknown" at worst), never an HTTP 500; the fetcher raises only
its own typed error."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import FetchError
from core.fetch import AddressPolicy, Fetcher, Resolver
from tests.node import RunningNode
from tests.verifier_desk import Desk


async def offline(host: str, port: int) -> list[str]:
    """The resolver of a desk without network: every name fails as the system's would."""
    if host in ("127.0.0.1", "::1"):
        return [host]
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    data_dir = tmp_path_factory.mktemp("faults")
    # A fetch deadline far beyond the 0.5 s the node waits for a check: the trickling test below
    # tells "answered before the fetch ended" from "after" with seconds to spare on a loaded machine.
    with RunningNode(data_dir, fetch_deadline_s=10, verifier_answer_wait_s=0.5) as node:
        node.app.state.verifier.fetcher.resolver = offline  # no test leaves loopback
        yield Desk(node, data_dir)


ODD_STATUS_URIS = [
    "https://0177.0.0.1:8821/status",  # octal IPv4: httpx.InvalidURL
    "https://[::1/status",  # unclosed IPv6 literal: ValueError from urlsplit
    "https://status.unresolvable.invalid/lists/1",  # socket.gaierror
    "https://[::1]:99999/status",  # port out of range
    "https://\x7f/status",
    "https:///status",
]


@pytest.mark.parametrize("uri", ODD_STATUS_URIS)
def test_an_odd_status_uri_ends_the_check_as_status_unknown(desk: Desk, uri: str) -> None:
    async def story() -> tuple[httpx.Response, dict[str, object]]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            response = await desk.present(http, check, desk.credential(uri))
            return response, await desk.outcome(http, check)

    response, result = asyncio.run(story())
    assert response.status_code == 200, response.text  # the wallet's answer is taken, not a 500
    assert result["accepted"] is False and result["reason"] == "status_unknown", result
    assert result["credentials"][0]["status"] == "unknown"  # type: ignore[index]


URL_FORMS = st.one_of(
    st.text(max_size=60),
    st.builds(lambda scheme, host, rest: f"{scheme}://{host}{rest}",
              st.sampled_from(["https", "http", "HTTPS", "ftp", "", "file"]),
              st.one_of(st.text(max_size=30), st.from_regex(r"\[[0-9a-f:.%]{0,20}\]?(:[0-9]{0,7})?", fullmatch=True),
                        st.from_regex(r"(0[0-7]{1,4}|0x[0-9a-f]{1,8}|[0-9]{1,12})(\.[0-9a-fx]{1,5}){0,3}",
                                      fullmatch=True)),
              st.text(max_size=20)),
)
RESOLVERS = st.sampled_from(["gaierror", "nothing", "private", "garbage", "loopback"])


def _resolver(kind: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if kind == "gaierror":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return {"nothing": [], "private": ["10.0.0.1"], "garbage": ["not-an-address", "::zz"],
                "loopback": ["127.0.0.1"]}[kind]

    return resolve


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=URL_FORMS, kind=RESOLVERS, allow_http=st.booleans())
def test_the_fetcher_raises_only_its_typed_error(url: str, kind: str, allow_http: bool) -> None:
    """No network is touched: the resolver is replaced, and loopback is never allowed here."""
    fetcher = Fetcher(AddressPolicy(allow_http=allow_http), resolver=_resolver(kind), timeout_s=2)
    with pytest.raises(FetchError):
        asyncio.run(fetcher.get(url, accept="*/*"))


class Trickle:
    """A loopback HTTP server that answers 200 and then sends one byte every 0.25 s (for at
    most a minute): no single read ever times out, only a deadline on the whole fetch ends it."""

    def __enter__(self) -> str:
        started = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._serve(started),), daemon=True)
        self.thread.start()
        started.wait(10)
        return f"http://127.0.0.1:{self.port}/status"

    async def _serve(self, started: threading.Event) -> None:
        self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._trickle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        async with server:
            await self.stop.wait()

    async def _trickle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/statuslist+jwt\r\n"
                         b"Content-Length: 100000\r\n\r\n")
            for _ in range(240):
                writer.write(b"e")
                await writer.drain()
                await asyncio.sleep(0.25)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def __exit__(self, *_exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=10)


def test_a_trickling_status_server_meets_the_fetch_deadline() -> None:
    with Trickle() as url, pytest.raises(FetchError, match="did not arrive"):
        asyncio.run(Fetcher(AddressPolicy(allow_http=True, allow_loopback=True), deadline_s=1).get(url, accept="*/*"))


def test_the_wallet_is_answered_before_a_slow_status_list_and_the_check_ends_unknown(desk: Desk) -> None:
    """The node waits 0.5 s for a check, the fetch up to 10 s: the wallet has its 200 first; the
    desk sees pending, then "status unknown" once the deadline has passed."""

    async def story(url: str) -> tuple[httpx.Response, httpx.Response, dict[str, object]]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(8.0)) as http:  # less than the fetch deadline
            check = await desk.check(http)
            response = await desk.present(http, check, desk.credential(url))
            first = await desk.result(http, check)
            return response, first, await desk.outcome(http, check)

    with Trickle() as url:
        response, first, result = asyncio.run(story(url))
    assert response.status_code == 200 and response.json() == {}
    assert first.status_code == 202 and first.json()["phase"] == "pending"
    assert result["accepted"] is False and result["reason"] == "status_unknown", result
    assert result["credentials"][0]["status"] == "unknown"  # type: ignore[index]


def test_fetching_a_tampered_jwt_vc_issuer_document_does_not_escape(tmp_path: Path) -> None:
    """resolve._published_keys reads a document of the issuer's choosing: any shape is 'no keys'."""
    from core.fetch import Fetched
    from verifier import resolve

    fetcher = Fetcher(AddressPolicy())
    for body in (b'{"issuer": "https://i.test", "jwks": []}', b'{"issuer": "https://i.test", "jwks": {"keys": 3}}',
                 b'{"issuer": "https://i.test", "jwks": {"keys": [1, "x"]}}', b"[]", b"\xff"):
        url = "https://i.test/.well-known/jwt-vc-issuer"
        fetcher.remember(Fetched(url, body, "application/json", time.time()), 600)
        assert asyncio.run(resolve._published_keys(fetcher, "https://i.test")) == []


def test_published_keys_only_from_the_issuers_own_document_by_value_or_reference() -> None:
    """SD-JWT VC section 5: a document naming another issuer gives no key (5.3); one with ``jwks_uri``
    gives the keys of the set it points to (5.2), fetched as the document was (here: remembered)."""
    from core import keys
    from core.fetch import Fetched
    from verifier import resolve

    key = keys.generate("ES256", kid="rotated").public_key()
    url, set_url = "https://i.test/.well-known/jwt-vc-issuer", "https://i.test/keys.json"
    cases = [(b'{"issuer": "https://other.test", "jwks": {"keys": [%s]}}', []),
             (b'{"issuer": "https://i.test", "jwks_uri": "https://i.test/keys.json"}', ["rotated"]),
             (b'{"issuer": "https://i.test", "jwks_uri": "https://i.test/keys.json", "jwks": {"keys": [%s]}}', [])]
    for body, kids in cases:
        fetcher = Fetcher(AddressPolicy())
        jwk = json.dumps(key.to_jwk()).encode()
        fetcher.remember(Fetched(url, body.replace(b"%s", jwk), "application/json", time.time()), 600)
        fetcher.remember(Fetched(set_url, b'{"keys": [%s]}' % jwk, "application/json", time.time()), 600)
        assert [k.kid for k in asyncio.run(resolve._published_keys(fetcher, "https://i.test"))] == kids


async def _answer_concurrently(desk: Desk, uris: list[str]) -> list[tuple[int, dict[str, object]]]:
    async with httpx.AsyncClient(timeout=30) as http:
        checks = [await desk.check(http) for _ in uris]

        async def one(check: dict[str, object], uri: str) -> tuple[int, dict[str, object]]:
            response = await desk.present(http, check, desk.credential(uri))
            return response.status_code, await desk.outcome(http, check)

        return await asyncio.gather(*(one(c, u) for c, u in zip(checks, uris, strict=True)))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_odd_status_uris_answered_concurrently_on_either_store(tmp_path: Path, backend: str) -> None:
    """The attack's URL forms, all at once, against a node on SQLite and on PostgreSQL."""
    from tests.server_process import POSTGRES_URL, empty_postgres

    with pytest.MonkeyPatch.context() as env:
        if backend == "postgresql":
            if not POSTGRES_URL:
                pytest.skip("no PostgreSQL (set AMANA_TEST_DATABASE_URL)")
            empty_postgres(POSTGRES_URL)
            env.setenv("DATABASE_URL", POSTGRES_URL)
        with RunningNode(tmp_path, fetch_deadline_s=5) as node:
            node.app.state.verifier.fetcher.resolver = offline
            desk = Desk(node, tmp_path)
            answers = asyncio.run(_answer_concurrently(desk, ODD_STATUS_URIS * 2))
    assert [code for code, _ in answers] == [200] * len(answers)
    for _, result in answers:
        assert result["reason"] == "status_unknown", result
