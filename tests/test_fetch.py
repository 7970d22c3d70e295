"""The hardened fetcher and three-valued status: SSRF tricks refused, caps held, nothing guessed."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import zlib
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core import _jose, keys
from core.encoding import b64url_encode
from core.fetch import AddressPolicy, Fetcher, FetchFailed, FetchRefused
from core.statuslist import INVALID, StatusList, sign_token
from tests.node import free_port
from verifier import resolve
from verifier.verification import Status

STATUS_KEY = keys.generate()
ASKED_ENCODINGS: list[str] = []  # the Accept-Encoding of each request to /gzipped


def _routes(base: str) -> list[Route]:
    status_list = StatusList.empty(1024)
    status_list.set(7, INVALID)

    def token(uri: str, lst: StatusList | None = None, bomb: bool = False) -> str:
        if bomb:  # 64 MiB of zeros in a few dozen kB
            return _jose.sign_compact({"typ": "statuslist+jwt"}, {
                "sub": uri, "iat": int(time.time()), "ttl": 60,
                "status_list": {"bits": 1, "lst": b64url_encode(zlib.compress(b"\0" * (64 << 20), 9))}}, STATUS_KEY)
        return sign_token(lst or status_list, uri=uri, key=STATUS_KEY, now=int(time.time()), ttl=60)

    async def ok(_r: object) -> Response:
        return Response("hello")

    async def big(_r: object) -> Response:
        return Response(b"x" * (2 << 20))

    async def loop(_r: object) -> Response:
        return RedirectResponse(f"{base}/loop")

    async def to_private(_r: object) -> Response:
        return RedirectResponse("http://10.0.0.1/secret")

    async def to_ok(_r: object) -> Response:
        return RedirectResponse(f"{base}/ok")

    async def status(_r: object) -> Response:
        return Response(token(f"{base}/status"), media_type="application/statuslist+jwt")

    async def bomb(_r: object) -> Response:
        return Response(token(f"{base}/bomb", bomb=True), media_type="application/statuslist+jwt")

    async def answered(request: Request) -> Response:  # a 2xx other than 200 (Token Status List section 8.2)
        code = int(request.path_params["code"])
        return Response(None if code == 204 else "hello", status_code=code)

    async def gzipped(request: Request) -> Response:  # a hostile server: compressed whatever was asked for
        ASKED_ENCODINGS.append(request.headers.get("accept-encoding", ""))
        return Response(gzip.compress(b"small once inflated"), headers={"Content-Encoding": "gzip"})

    return [Route("/ok", ok), Route("/big", big), Route("/loop", loop), Route("/to-private", to_private),
            Route("/to-ok", to_ok), Route("/status", status), Route("/bomb", bomb), Route("/gzipped", gzipped),
            Route("/answered/{code}", answered)]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = Starlette(routes=_routes(base))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    yield base
    srv.should_exit = True
    thread.join(timeout=10)


TEST_MODE = AddressPolicy(allow_http=True, allow_loopback=True)  # to reach the test server at all


def fetch(url: str, policy: AddressPolicy = TEST_MODE, **kwargs: object) -> bytes:
    return asyncio.run(Fetcher(policy, **kwargs).get(url, accept="*/*")).body  # type: ignore[arg-type]


def test_the_test_server_is_reachable_in_test_mode(server: str) -> None:
    assert fetch(f"{server}/ok") == b"hello"
    assert fetch(f"{server}/to-ok") == b"hello"  # one redirect, re-checked, followed


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/ok",  # loopback
    "http://localhost:{port}/ok",
    "http://[::1]:{port}/ok",
    "http://[::ffff:127.0.0.1]:{port}/ok",  # IPv4-mapped IPv6
    "http://[64:ff9b::7f00:1]:{port}/ok",  # NAT64-embedded loopback
    "http://2130706433:{port}/ok",  # 127.0.0.1 as a decimal number
    "http://0x7f000001:{port}/ok",  # ... and in hex
    "http://10.0.0.1/",  # private
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://[fd00:ec2::254]/",  # AWS metadata over IPv6 (unique local)
    "http://100.100.100.200/",  # shared address space (Alibaba metadata)
    "http://0.0.0.0:{port}/ok",
])
def test_private_and_special_addresses_refused(server: str, url: str) -> None:
    port = server.rsplit(":", 1)[1]
    with pytest.raises(FetchRefused):
        fetch(url.format(port=port), AddressPolicy(allow_http=True))  # http allowed, loopback not


def test_plain_http_refused_by_default() -> None:
    with pytest.raises(FetchRefused):
        fetch("http://example.org/", AddressPolicy())


def test_redirect_from_https_to_http_refused() -> None:
    with pytest.raises(FetchRefused):
        Fetcher(AddressPolicy(allow_http=True))._check_url("http://example.org/x", previous="https://example.org/")


def test_redirects_are_capped_and_rechecked(server: str) -> None:
    with pytest.raises(FetchRefused, match="redirects"):
        fetch(f"{server}/loop")
    with pytest.raises(FetchRefused):
        fetch(f"{server}/to-private")  # the target of a redirect is checked like the first address


def test_any_2xx_with_a_body_is_an_answer(server: str) -> None:
    """Token Status List section 8.2: success is "a status code in the 2xx range" (only 200 was read,
    helper-67); 204 brings no token, and a 4xx or 5xx is a failure."""
    assert fetch(f"{server}/answered/203") == fetch(f"{server}/answered/200") == b"hello"
    for code in (204, 404, 500):
        with pytest.raises(FetchFailed):
            fetch(f"{server}/answered/{code}")


def test_size_cap(server: str) -> None:
    with pytest.raises(FetchRefused, match="larger"):
        fetch(f"{server}/big", max_bytes=1 << 20)


def test_compressed_answers_are_refused_not_inflated(server: str) -> None:
    """The cap counts bytes as they arrive: a compressed answer inflated before the count let
    1 MB of gzip grow to a gigabyte in memory. Uncompressed is asked for, anything else refused,
    even a body that would be small once inflated."""
    with pytest.raises(FetchRefused, match="compressed"):
        fetch(f"{server}/gzipped")
    assert ASKED_ENCODINGS[-1] == "identity"


def test_unreachable_is_a_failure_not_a_refusal() -> None:
    with pytest.raises(FetchFailed):
        fetch(f"http://127.0.0.1:{free_port()}/nothing-here")


def _status(url: str, idx: int, key: keys.PrivateKey = STATUS_KEY) -> Status:
    now = int(time.time())
    return asyncio.run(resolve.current_status(Fetcher(TEST_MODE), (url, idx), [key.public_key()], now, None))[0]


def test_status_is_three_valued(server: str) -> None:
    assert _status(f"{server}/status", 7) is Status.REVOKED
    assert _status(f"{server}/status", 8) is Status.VALID
    assert _status(f"{server}/status", 5000) is Status.UNKNOWN  # out of bounds: no statement
    assert _status(f"http://127.0.0.1:{free_port()}/status", 7) is Status.UNKNOWN  # unreachable
    assert _status(f"{server}/status", 7, key=keys.generate(kid=STATUS_KEY.kid)) is Status.UNKNOWN  # forged
    assert _status(f"{server}/ok", 7) is Status.UNKNOWN  # not a status list at all


def test_status_list_decompression_bomb_is_unknown(server: str) -> None:
    assert _status(f"{server}/bomb", 7) is Status.UNKNOWN


def test_ttl_is_honoured_up_to_the_configured_maximum() -> None:
    """A short ttl is kept short (a floor would hide a revocation longer than the issuer
    promised); a long one is cut at the maximum; a document without one gets the minimum."""
    from core.fetch import Fetched

    fetcher = Fetcher(TEST_MODE, min_ttl_s=60, max_ttl_s=600)
    now = time.time()
    for ttl, expected in ((5, 5), (300, 300), (86400, 600), (None, 60)):
        fetcher.remember(Fetched("u", b"x", "t", now), ttl)
        assert fetcher.cached("u", now + expected - 1) is not None
        assert fetcher.cached("u", now + expected + 1) is None
