"""The node ``bench.issuer`` and ``bench.verifier`` measure, and the wallet's two flows against it.

One data directory made as the README's path makes it (``bench.node_setup``: ``amana issuer
create-org``, ``amana verifier init``, a signed trust list), on SQLite or on a throwaway PostgreSQL database. The node
is the whole one-process app (``server.app``) plus one route that does nothing
(``/bench/noop``), the floor any request pays (HTTP parsing, routing, middleware, the response).
It runs two ways, measured one after the other on the same store:

- **in process**: httpx's ASGI transport into the app, in this process (no sockets). The same
  app also listens on loopback from the same event loop, because the verifier fetches the
  issuer's status list from the node's public address like any other verifier;
- **over HTTP**: ``python -m bench.world serve`` in its own process, one uvicorn worker,
  pinned with ``taskset -c 1`` (the client stays on the other core).

The flows time each request a wallet or a desk sends; what the wallet computes between them
(a holder key, the key proof, the presentation) is not the node's work and is untimed, and nor
is the encoding of a request's body (``form_body``, ``json_body``): httpx's form encoding of a
presentation cost the client 60 µs in the response's window, which the no-op's bodiless request
does not pay, so it stood in that step's figure as the node's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bench.node_setup import node_env
from core import _jose, keys
from core.oid4vc import PRE_AUTHORIZED_GRANT, PROOF_TYP
from core.settings import REPO_ROOT, Settings
from wallet import present as presenting
from wallet.vp_request import check_request, parse_link

SKILL = json.loads((REPO_ROOT / "specs/credentials/SkillCertificate/example.json").read_text())
SHOWN = ("skill", "eqf_level", "awarded_on")  # the check's three claims
QUERY = {"credentials": [{"id": "skill", "format": "dc+sd-jwt",
                          "meta": {"vct_values": ["urn:amana:credential:SkillCertificate:1"]},
                          "claims": [{"id": name, "path": [name]} for name in SHOWN]}]}
PURPOSE = "https://w3id.org/dpv#HumanResourceManagement"
FORM, JSON = {"Content-Type": "application/x-www-form-urlencoded"}, {"Content-Type": "application/json"}
ISSUE_STEPS = ("offer fetch", "token", "nonce", "credential")
CHECK_STEPS = ("check", "request", "response", "result")


def settings(data_dir: Path, port: int, pg: str | None) -> Settings:
    # One client address sends everything here: the per-address limit would measure itself.
    return Settings(data_dir=data_dir, public_base_url=f"http://127.0.0.1:{port}", database_url=pg,
                    rate_limit_per_s=1e9, rate_limit_burst=10**9)


def build_app(chosen: Settings) -> FastAPI:
    """The whole node, plus the request that does nothing."""
    from server.app import build_app as node_app

    app = node_app(chosen)

    @app.post("/bench/noop")
    async def noop() -> JSONResponse:
        return JSONResponse({})

    return app


def form_body(fields: dict[str, str]) -> bytes:
    """A form body as httpx encodes one (``urlencode``), made before the clock starts."""
    return urlencode(fields).encode("ascii")


def json_body(value: Any) -> bytes:
    """A JSON body as httpx encodes one (compact, UTF-8), made before the clock starts."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class Times:
    """Seconds per step, every request kept; flows counted when whole."""

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = defaultdict(list)
        self.flows = 0

    async def timed(self, step: str, call: Any) -> httpx.Response:
        started = time.perf_counter()
        response: httpx.Response = await call
        self.steps[step].append(time.perf_counter() - started)
        return response


class Wallets:
    """The staff and desk keys, and the two flows, against ``base`` through ``http``.

    ``own_client`` (over HTTP) gives each of many wallets at once a client of its own with one
    connection, as phones have (``bench.light_client``): one httpx client shared by 16 wallets
    cost the load generator more than the node (httpcore's pool polls every idle connection's
    socket at every request: 9.9 ms of the client's CPU per issuance flow, the worker's 5.8).
    """

    def __init__(self, http: httpx.AsyncClient, base: str, api_key: str, desk_key: str,
                 own_client: Callable[[], Any] | None = None) -> None:
        self.http, self.base, self.issuer = http, base, f"{base}/issuers/ngo"
        self.staff, self.desk = {"Authorization": f"Bearer {api_key}"}, {"Authorization": f"Bearer {desk_key}"}
        self.own_client = own_client

    @contextlib.asynccontextmanager
    async def one_of_many(self) -> AsyncIterator[Wallets]:
        """These wallets as one of many at once: on a client of its own where there is one."""
        if self.own_client is None:
            yield self
            return
        async with self.own_client() as http:
            alone = copy.copy(self)
            alone.http = http
            yield alone

    async def offer(self, batch: int) -> tuple[str, str]:
        """Staff make an offer: setup, untimed (the wallet never waits for it)."""
        r = await self.http.post(f"{self.base}/api/issuer/offers", headers=self.staff,
                                 json={"type": "SkillCertificate", "claims": SKILL, "batch_size": batch})
        assert r.status_code == 201, r.text
        return parse_qs(urlsplit(r.json()["link"]).query)["credential_offer_uri"][0], r.json()["pin"]

    async def issue(self, times: Times, offer: tuple[str, str], batch: int) -> list[tuple[str, keys.PrivateKey]]:
        """The wallet's whole OpenID4VCI flow: offer fetch, token with the PIN, nonce, credential."""
        http, (uri, pin) = self.http, offer
        got = (await times.timed("offer fetch", http.get(uri))).json()
        form = form_body({"grant_type": PRE_AUTHORIZED_GRANT, "tx_code": pin,
                          "pre-authorized_code": got["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]})
        token = (await times.timed("token", http.post(f"{self.issuer}/token", content=form, headers=FORM))).json()
        nonce = (await times.timed("nonce", http.post(f"{self.issuer}/nonce"))).json()["c_nonce"]
        holders = [keys.generate() for _ in range(batch)]
        now = int(time.time())
        proofs = [_jose.sign_compact({"typ": PROOF_TYP, "jwk": h.public_key().to_jwk()},
                                     {"aud": self.issuer, "iat": now, "nonce": nonce}, h) for h in holders]
        asked = json_body({"credential_configuration_id": "SkillCertificate", "proofs": {"jwt": proofs}})
        r = await times.timed("credential", http.post(
            f"{self.issuer}/credential", headers={"Authorization": f"Bearer {token['access_token']}", **JSON},
            content=asked))
        assert r.status_code == 200 and len(r.json()["credentials"]) == batch, r.text
        times.flows += 1
        return [(c["credential"], h) for c, h in zip(r.json()["credentials"], holders, strict=True)]

    async def check(self, times: Times, credential: tuple[str, keys.PrivateKey]) -> None:
        """The desk creates a check, the wallet fetches the request object and answers with three
        claims (``direct_post``), the desk reads the result (accepted, valid)."""
        http = self.http
        asked = json_body({"dcql_query": QUERY, "purpose": PURPOSE})
        r = await times.timed("check", http.post(f"{self.base}/api/verifier/checks", headers={**self.desk, **JSON},
                                                 content=asked))
        assert r.status_code == 201, r.text
        check = r.json()
        link = parse_link(check["link"])
        assert link.request_uri is not None
        fetched = await times.timed("request", http.get(link.request_uri))
        request = check_request(link, fetched.text, now=int(time.time()))
        vp = presenting.vp_token(request, {request.query.credentials[0].id: credential}, int(time.time()))
        body = form_body(presenting.response_body(request, vp))  # the wallet's JWE: its own work, untimed
        answered = await times.timed("response", http.post(request.response_uri, content=body, headers=FORM,
                                                           follow_redirects=False))
        assert answered.status_code == 200, answered.text
        url = f"{self.base}/api/verifier/checks/{check['id']}/result"
        key = json_body({"result_key": check["result_key"]})
        while True:
            result = await times.timed("result", http.post(url, headers={**self.desk, **JSON}, content=key))
            if result.status_code != 202:
                break
            await asyncio.sleep(0.005)  # a verdict still being made (a status list on its way)
        body = result.json()
        assert body.get("accepted") and body["credentials"][0]["status"] == "valid", result.text
        times.flows += 1

    async def noop(self, times: Times) -> None:
        await times.timed("no-op", self.http.post(f"{self.base}/bench/noop"))


@contextlib.asynccontextmanager
async def in_process(chosen: Settings, port: int) -> Any:
    """The app in this event loop: an ASGI-transport client, and the same app on loopback."""
    import uvicorn

    app = build_app(chosen)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=60) as http:
            yield http
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def served(data_dir: Path, port: int, pg: str | None, log: Path) -> Any:
    """``python -m bench.world serve``: one uvicorn worker in its own process, on core 1 if there is one."""
    pin = ["taskset", "-c", "1"] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []
    with log.open("wb") as out:
        process = subprocess.Popen([*pin, sys.executable, "-m", "bench.world", "serve", "--port", str(port)],
                                   cwd=REPO_ROOT, env=node_env(data_dir, port, pg), stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the node did not start: {log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.post(f"http://127.0.0.1:{port}/bench/noop", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield ("pinned to core 1 (taskset)" if pin else "not pinned"), process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system), from /proc; NaN where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(argv: list[str]) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.world serve")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(build_app(Settings()), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"]:
        sys.exit("usage: python -m bench.world serve --port N")
    _serve(sys.argv[2:])
