"""Races, run for real (issue 11): bursts of concurrent requests against a node in its own
process, on the embedded SQLite and on PostgreSQL. Each burst is bounded (count and time).

What a broken store did here before: 31 of 50 wrong PINs checked instead of 5 and the right
PIN accepted after 24 wrong ones; 7 access tokens for one single-use code; sign-in bursts
answering 500 on a unique constraint and checking more than 5 keys.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core import _jose, keys
from core.encoding import decode_b64url_json_object
from core.oid4vc import PRE_AUTHORIZED_GRANT
from issuer.offers import MAX_PIN_FAILURES
from issuer.offline import SUFFIX
from tests.pg_locks import rows_held
from tests.server_process import POSTGRES_URL, NodeProcess, empty_postgres

BURST = 50
# The stories' clients keep no connection alive between requests: the node closes one idle for 5 s
# (uvicorn's keep-alive), and on a loaded box a request sent on it as it closes gets no answer
# (httpx.ReadError; seen once in a loaded run, on a suspend in the batches story).
FRESH = httpx.Limits(max_connections=48, max_keepalive_connections=0)
SKILL = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, str]]:
    database_url = None
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one: eval \"$(.ci/postgres)\")")
        empty_postgres(POSTGRES_URL)
        database_url = POSTGRES_URL
    running = NodeProcess(tmp_path_factory.mktemp(request.param), database_url=database_url)
    created = running.cli("issuer", "create-org", "--slug", "open-doors", "--name", "en=Open Doors",
                          "--type", "SkillCertificate")
    with running:
        yield running, created["api_key"]
    assert "Traceback" not in running.log_text()


def _offer(node: NodeProcess, api_key: str) -> tuple[str, str, str]:
    """A fresh batch-1 offer: its token endpoint, pre-authorized code and PIN."""
    r = httpx.post(f"{node.base}/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                   json={"type": "SkillCertificate", "claims": SKILL}, timeout=10)
    assert r.status_code == 201, r.text
    created = r.json()
    offer_uri = parse_qs(urlsplit(created["link"]).query)["credential_offer_uri"][0]
    offer = httpx.get(offer_uri, timeout=10).json()
    code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    return f"{node.base}/issuers/open-doors/token", code, created["pin"]


async def _burst(url: str, forms: list[dict[str, str]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(forms))
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        return await asyncio.gather(*(client.post(url, data=form) for form in forms))


def _token_form(code: str, pin: str) -> dict[str, str]:
    return {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": pin}


def _outcomes(responses: list[httpx.Response]) -> Counter[str]:
    def one(r: httpx.Response) -> str:
        if r.status_code == 200:
            return "token"
        body: dict[str, Any] = r.json()
        return f"{r.status_code} {body.get('error')}: {body.get('error_description')}"
    return Counter(one(r) for r in responses)


def test_a_burst_of_wrong_pins_checks_exactly_five_and_locks_the_offer(node: tuple[NodeProcess, str]) -> None:
    running, api_key = node
    url, code, pin = _offer(running, api_key)
    wrong = "000000" if pin != "000000" else "111111"
    responses = asyncio.run(_burst(url, [_token_form(code, wrong)] * BURST))
    outcomes = _outcomes(responses)
    checked = [k for k in outcomes.elements() if k.startswith("400 invalid_grant: the transaction code is wrong")]
    assert len(checked) == MAX_PIN_FAILURES, outcomes
    # and each told the tries left once, down to none: no two counted the same failure
    told = sorted(r.json()["tx_code_tries_left"] for r in responses if "tx_code_tries_left" in r.json())
    assert told == list(range(MAX_PIN_FAILURES)), outcomes
    assert sum(outcomes.values()) == BURST and not any(k.startswith("5") for k in outcomes), outcomes
    # Locked for good: the right PIN no longer opens it.
    late = httpx.post(url, data=_token_form(code, pin), timeout=10)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_a_burst_of_right_pins_yields_one_access_token(node: tuple[NodeProcess, str]) -> None:
    running, api_key = node
    url, code, pin = _offer(running, api_key)
    outcomes = _outcomes(asyncio.run(_burst(url, [_token_form(code, pin)] * BURST)))
    assert outcomes["token"] == 1, outcomes
    assert not any(k.startswith("5") for k in outcomes), outcomes


def _csrf(node: NodeProcess) -> tuple[str, str]:
    """A browser's CSRF cookie and the token its sign-in form carries (the cookie is Secure:
    an http client keeps it by hand, as a browser on a loopback origin would send it)."""
    page = httpx.get(f"{node.base}/issuer/console", timeout=10)
    cookie = page.cookies.get("__Host-amana_csrf") or page.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return cookie, token


async def _sign_in_burst(node: NodeProcess, count: int, headers: dict[str, str]) -> list[httpx.Response]:
    cookie, token = _csrf(node)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=count)) as client:
        return await asyncio.gather(*(
            client.post(f"{node.base}/issuer/console/login", data={"csrf": token, "api_key": "amk_wrong"},
                        headers={"Cookie": f"__Host-amana_csrf={cookie}", **headers}, follow_redirects=False)
            for _ in range(count)))


def test_a_burst_of_wrong_sign_ins_checks_exactly_five_keys(node: tuple[NodeProcess, str]) -> None:
    running, _ = node
    began = time.monotonic()
    statuses = Counter(r.status_code for r in asyncio.run(_sign_in_burst(running, 30, {})))
    # Five keys checked, then the backoff (at least 1 s, 2 s, 4 s …): a burst that a busy machine
    # spreads over E seconds may see one more key checked per doubling that ended within it, never
    # more. (Not a timing assertion: the duration only widens what a correct limit may do.)
    backoffs_ended = int(math.log2(time.monotonic() - began + 1))
    assert statuses[401] <= 5 + backoffs_ended and statuses[401] >= 5, statuses  # no burst past the limit
    assert set(statuses) == {401, 429} and sum(statuses.values()) == 30, statuses  # and no 500
    # A forwarded-for header from an untrusted peer (anyone on loopback) does not open a fresh
    # bucket, which would check all three; the backoff lets one through at most, and then waits at
    # least 2 s, 4 s …: one more per doubling that ended within this burst's own E seconds.
    began = time.monotonic()
    spoofed = Counter(r.status_code for r in asyncio.run(
        _sign_in_burst(running, 3, {"X-Forwarded-For": "203.0.113.7"})))
    backoffs_ended = int(math.log2((time.monotonic() - began) / 2 + 1))
    assert spoofed[401] <= 1 + backoffs_ended and spoofed[429] >= 2 - backoffs_ended, spoofed
    assert sum(spoofed.values()) == 3, spoofed


def test_sign_in_backoff_doubles_and_a_window_forgets() -> None:
    from core.sessions import MAX_FAILURES, WINDOW_S, admit

    state, now, waits = None, 1_000, []
    for _ in range(MAX_FAILURES):
        allowed, state = admit(state, now)
        assert allowed
    for _ in range(4):  # each admitted attempt past the budget doubles the wait
        assert state is not None
        refused, _same = admit(state, state.retry_at - 1)
        assert not refused and _same == state
        now = state.retry_at
        allowed, state = admit(state, now)
        waits.append(state.retry_at - now)
    assert allowed and waits == [3, 5, 9, 17]  # 2, 4, 8, 16 s and the second the clock rounds off
    assert admit(state, state.window_start + WINDOW_S)[1].failures == 1  # a new window starts afresh


def test_no_wait_is_longer_than_an_hour_whatever_the_window() -> None:
    """A wallet's wrong tries count for a day, but a wait as long would keep its holder out all day;
    39 tries a day get checked at most."""
    from core.sessions import MAX_WAIT_S, admit

    state, now, longest = None, 1_000, 0
    for _ in range(20):
        allowed, state = admit(state, now, window_s=86400)
        assert allowed and state is not None
        longest = max(longest, state.retry_at - now)
        now = max(now, state.retry_at)
    assert longest == MAX_WAIT_S + 1 == 3601 and state.failures == 20  # still one window: the count goes on
    state, now, checked = None, 0, 0
    while now < 86400:
        allowed, state = admit(state, now, window_s=86400)
        checked += allowed
        now = max(now + 1, state.retry_at)
    assert checked == 39


def test_a_right_try_is_uncounted_and_wrong_ones_stay() -> None:
    from core.sessions import MAX_FAILURES, Attempts, admit, refunded

    state = None
    for _ in range(MAX_FAILURES - 1):  # four wrong tries
        _, state = admit(state, 1_000)
    _, state = admit(state, 1_000)  # a fifth try, counted before it is checked: it sets a wait
    assert state is not None and state.retry_at > 1_000
    assert refunded(state) == Attempts(state.window_start, MAX_FAILURES - 1, 0)  # it was right: no wait
    _, sixth = admit(state, state.retry_at)
    assert refunded(sixth).failures == MAX_FAILURES and refunded(sixth).retry_at == sixth.retry_at


def test_concurrent_presentations_of_a_list_not_kept_yet_all_complete(node: tuple[NodeProcess, str]) -> None:
    """The first presentations naming a status list the verifier has not kept raced to insert
    its copy (SQLite 22/40, PostgreSQL 15/40 answered 500 on the unique constraint)."""
    from tests.test_verifier_flow import World
    from wallet import present as wallet

    running, _ = node
    world = World(running, running.data_dir,  # type: ignore[arg-type]  # a process, not a thread: same surface
                  database_url=running.env.get("AMANA_DATABASE_URL"))

    async def story() -> tuple[list[httpx.Response], list[httpx.Response]]:
        async with httpx.AsyncClient(timeout=60, limits=FRESH) as http:
            held = [await world.issue(http, world.city["api_key"]) for _ in range(12)]
            checks = [await world.check(http) for _ in held]
            requests = [await wallet.fetch_request(http, c["link"]) for c in checks]
            now = int(time.time())
            tokens = [wallet.vp_token(r, {"registration": (h.credential, h.holder_key)}, now)
                      for r, h in zip(requests, held, strict=True)]
            answers = await asyncio.gather(*(wallet.answer(http, r, t) for r, t in zip(requests, tokens, strict=True)))
            results = [await world.result(http, c) for c in checks]
            return list(answers), results

    answers, results = asyncio.run(story())
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text for a in answers if a.status_code != 200]
    assert all(r.json()["accepted"] and r.json()["credentials"][0]["status"] == "valid" for r in results)


def test_concurrent_first_issuances_share_one_status_list(node: tuple[NodeProcess, str]) -> None:
    """A new organisation's first concurrent issuances all draw from one list (herd privacy)."""
    from core.credtypes import load_registry
    from core.settings import Settings
    from wallet.receive import receive

    running, _ = node
    created = running.cli("issuer", "create-org", "--slug", "fresh", "--name", "en=Fresh", "--type", "SkillCertificate")
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    types = load_registry(Settings().specs_dir)

    async def flows() -> list[str]:
        async with httpx.AsyncClient(timeout=60, limits=FRESH) as http:
            offers = [(await http.post(f"{running.base}/api/issuer/offers", headers=headers,
                                       json={"type": "SkillCertificate", "claims": SKILL})).json() for _ in range(16)]
            received = await asyncio.gather(*(receive(http, o["link"], o["pin"], copies=1, types=types)
                                              for o in offers))
            return [r[0].credential for r in received]

    payloads = [decode_b64url_json_object(c.split("~", 1)[0].split(".")[1], "payload") for c in asyncio.run(flows())]
    uris = {p["status"]["status_list"]["uri"] for p in payloads}
    assert len(uris) == 1, uris


def test_one_refresh_token_spent_at_once_gives_one_answer_and_kills_its_family(
        node: tuple[NodeProcess, str]) -> None:
    """RFC 9700 section 4.14.2 under a burst: of many refreshes with one token exactly one gets an
    answer, the rest count as reuse, so the family dies — its fresh token included. Never a 500."""
    running, api_key = node
    url, code, pin = _offer(running, api_key)
    grant = httpx.post(url, data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": pin},
                       timeout=10).json()
    access = grant["access_token"]
    base = f"{running.base}/issuers/open-doors"
    nonce = httpx.post(f"{base}/nonce", timeout=10).json()["c_nonce"]
    key = keys.generate()
    proof = _jose.sign_compact({"typ": "openid4vci-proof+jwt", "jwk": key.public_key().to_jwk()},
                               {"aud": base, "iat": int(time.time()), "nonce": nonce}, key)
    issued = httpx.post(f"{base}/credential", headers={"Authorization": f"Bearer {access}"}, timeout=10,
                        json={"credential_configuration_id": "SkillCertificate", "proofs": {"jwt": [proof]}})
    assert issued.status_code == 200, issued.text
    responses = asyncio.run(_burst(url, [{"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
                                         for _ in range(16)]))
    codes = Counter(r.status_code for r in responses)
    assert codes == Counter({200: 1, 400: 15}), codes
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
    successor = next(r.json()["refresh_token"] for r in responses if r.status_code == 200)
    late = httpx.post(url, data={"grant_type": "refresh_token", "refresh_token": successor}, timeout=10)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("configuration", ["SkillCertificate", "SkillCertificate" + SUFFIX])
def test_one_access_token_spent_by_many_credential_requests_at_once_gives_one_credential(
        node: tuple[NodeProcess, str], configuration: str) -> None:
    """An access token is single-use (issuer.store.use_access_token; on PostgreSQL the token is
    spent and its offer locked in one statement): of 16 different credential requests sent with one
    token at once, each with its own key and nonce, exactly one gets a credential and the other 15
    are refused as a used token. Never a 500. The compact copy's grant leaves the offer as it was,
    so there the token's own single use is all that stands between one credential and sixteen."""
    running, api_key = node
    url, code, pin = _offer(running, api_key)
    access = httpx.post(url, data=_token_form(code, pin), timeout=10).json()["access_token"]
    base = f"{running.base}/issuers/open-doors"

    def request() -> dict[str, Any]:
        nonce = httpx.post(f"{base}/nonce", timeout=10).json()["c_nonce"]
        key = keys.generate()
        proof = _jose.sign_compact({"typ": "openid4vci-proof+jwt", "jwk": key.public_key().to_jwk()},
                                   {"aud": base, "iat": int(time.time()), "nonce": nonce}, key)
        return {"credential_configuration_id": configuration, "proofs": {"jwt": [proof]}}

    bodies = [request() for _ in range(16)]

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=16)) as client:
            return await asyncio.gather(*(client.post(f"{base}/credential", json=body,
                                                      headers={"Authorization": f"Bearer {access}"})
                                          for body in bodies))

    responses = asyncio.run(burst())
    codes = Counter(r.status_code for r in responses)
    assert codes == Counter({200: 1, 401: 15}), codes
    assert all(r.json()["error"] == "invalid_token" for r in responses if r.status_code == 401)
    assert len(next(r for r in responses if r.status_code == 200).json()["credentials"]) == 1


def test_one_dpop_proof_sent_many_times_at_once_is_used_once(node: tuple[NodeProcess, str]) -> None:
    """RFC 9449 section 11.1 under a burst: one proof (one jti) sent 16 times at once gives one token;
    the other 15 are refused as a reused proof, not as a used code: the jti is spent first, in one
    insert-or-ignore (store.spend_dpop_jti), so no two requests can both pass it."""
    from wallet import dpop

    running, api_key = node
    url, code, pin = _offer(running, api_key)
    key = keys.generate()
    asked = httpx.post(url, data={"grant_type": PRE_AUTHORIZED_GRANT}, headers={"DPoP": dpop.proof(key, "POST", url)},
                       timeout=10)
    assert asked.status_code == 400 and asked.json()["error"] == "use_dpop_nonce", asked.text
    proof = dpop.proof(key, "POST", url, nonce=asked.headers["DPoP-Nonce"])

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=16)) as client:
            return await asyncio.gather(*(client.post(url, data=_token_form(code, pin), headers={"DPoP": proof})
                                          for _ in range(16)))

    outcomes = _outcomes(asyncio.run(burst()))
    assert outcomes == Counter({"token": 1, "400 invalid_dpop_proof: this DPoP proof was used already: make a new one":
                                15}), outcomes


def test_status_changes_of_whole_batches_beside_issuances_never_deadlock(node: tuple[NodeProcess, str]) -> None:
    """A change to a batch of copies wrote its status list row once per copy; from the second
    write on (the row then the transaction's own) PostgreSQL checked the row's foreign key and
    waited for a share lock on the organisation, which a concurrent issuance holds while it
    waits for that very list row: a deadlock, answered 500 (found by tests/test_crashes.py)."""
    from core.credtypes import load_registry
    from core.settings import Settings
    from wallet.receive import receive

    running, api_key = node
    headers = {"Authorization": f"Bearer {api_key}"}
    types = load_registry(Settings().specs_dir)

    async def offer(http: httpx.AsyncClient) -> dict[str, Any]:
        made = await http.post(f"{running.base}/api/issuer/offers", headers=headers,
                               json={"type": "SkillCertificate", "claims": SKILL, "batch_size": 3})
        assert made.status_code == 201, made.text
        result: dict[str, Any] = made.json()
        return result

    async def story() -> list[int]:
        async with httpx.AsyncClient(timeout=60, limits=FRESH) as http:
            held = [await offer(http) for _ in range(12)]
            await asyncio.gather(*(receive(http, o["link"], o["pin"], copies=3, types=types) for o in held))
            listed = (await http.get(f"{running.base}/api/issuer/credentials", headers=headers,
                                     params={"limit": 500})).json()
            one_per_batch = list({c["offer_id"]: c["id"] for c in listed if c["status"] == "valid"}.values())[:12]
            fresh = [await offer(http) for _ in range(12)]

            async def issue(o: dict[str, Any]) -> int:
                try:
                    await receive(http, o["link"], o["pin"], copies=3, types=types)
                    return 200
                except Exception as exc:  # the wallet's typed refusal; its text names the status
                    return 500 if "500" in str(exc) else 400

            changes = [http.post(f"{running.base}/api/issuer/credentials/{c}/suspend", headers=headers)
                       for c in one_per_batch]
            answers = await asyncio.gather(*changes, *(issue(o) for o in fresh))
            return [a if isinstance(a, int) else a.status_code for a in answers]

    codes = Counter(asyncio.run(story()))
    assert codes == Counter({200: 24}), codes


def test_a_credential_request_and_a_refresh_of_one_offer_never_deadlock(node: tuple[NodeProcess, str]) -> None:
    """PostgreSQL. A credential request with a refreshed access token locks the offer, then its
    credentials; the refresh grant of the same family locks the credentials, then the family,
    then adds an access token, whose foreign key takes a share lock on the offer. When the
    credential request locked the offer ``FOR UPDATE`` (which that share lock waits for) and
    took a share lock on the family before the credentials (dropping the token's claims, an
    update that checks the family's key again), the two waited for each other: 500 after
    PostgreSQL's deadlock timeout. The schedule is forced: a third connection holds the
    credentials' rows while the refresh queues for them, then the credential request."""
    running, api_key = node
    database_url = running.env.get("AMANA_DATABASE_URL")
    if database_url is None:
        pytest.skip("SQLite has one writer at a time: no row locks to order")

    made = httpx.post(f"{running.base}/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                      json={"type": "SkillCertificate", "claims": SKILL}, timeout=10).json()
    offer_uri = parse_qs(urlsplit(made["link"]).query)["credential_offer_uri"][0]
    code = httpx.get(offer_uri, timeout=10).json()["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    base = f"{running.base}/issuers/open-doors"
    grant = httpx.post(f"{base}/token", data=_token_form(code, made["pin"]), timeout=10).json()

    def credential_request() -> dict[str, Any]:
        return {"credential_configuration_id": "SkillCertificate", "proofs": {"jwt": [_proof(base)]}}

    first = httpx.post(f"{base}/credential", json=credential_request(), timeout=10,
                       headers={"Authorization": f"Bearer {grant['access_token']}"})
    assert first.status_code == 200, first.text
    refreshed = httpx.post(f"{base}/token", timeout=10,
                           data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}).json()
    body = credential_request()

    async def hold_the_batch(holder: Any) -> None:
        await holder.execute("SELECT 1 FROM issuer_credentials WHERE offer_id = $1 FOR UPDATE", made["offer_id"])

    refresh, issue = asyncio.run(_forced(
        database_url, hold_the_batch,
        lambda http: http.post(f"{base}/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": refreshed["refresh_token"]}),
        lambda http: http.post(f"{base}/credential", json=body,
                               headers={"Authorization": f"Bearer {refreshed['access_token']}"})))
    assert (refresh.status_code, issue.status_code) == (200, 200), (refresh.text, issue.text)
    assert len(issue.json()["credentials"]) == 1 and refresh.json()["refresh_token"]


def test_a_status_change_of_a_later_copy_and_a_refresh_of_its_offer_never_deadlock(
        node: tuple[NodeProcess, str]) -> None:
    """PostgreSQL. A refresh grant locks its offer's credentials in id order (store.batch_fate); a
    status change locked the copy it names first, then the rest of the batch. Suspending the
    second copy while the refresh waited for the first, each held what the other wanted: 500
    after the deadlock timeout (found by a review probe). The schedule is forced as above."""
    running, api_key = node
    database_url = running.env.get("AMANA_DATABASE_URL")
    if database_url is None:
        pytest.skip("SQLite has one writer at a time: no row locks to order")

    staff = {"Authorization": f"Bearer {api_key}"}
    made = httpx.post(f"{running.base}/api/issuer/offers", headers=staff, timeout=10,
                      json={"type": "SkillCertificate", "claims": SKILL, "batch_size": 2}).json()
    offer_uri = parse_qs(urlsplit(made["link"]).query)["credential_offer_uri"][0]
    code = httpx.get(offer_uri, timeout=10).json()["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    base = f"{running.base}/issuers/open-doors"
    grant = httpx.post(f"{base}/token", data=_token_form(code, made["pin"]), timeout=10).json()
    issued = httpx.post(f"{base}/credential", timeout=10, headers={"Authorization": f"Bearer {grant['access_token']}"},
                        json={"credential_configuration_id": "SkillCertificate",
                              "proofs": {"jwt": [_proof(base), _proof(base)]}})
    assert issued.status_code == 200, issued.text

    copies: list[str] = []

    async def hold_the_first(holder: Any) -> None:  # the batch in id order, as the database orders it
        copies.extend(r["id"] for r in await holder.fetch(
            "SELECT id FROM issuer_credentials WHERE offer_id = $1 ORDER BY id", made["offer_id"]))
        await holder.execute("SELECT 1 FROM issuer_credentials WHERE id = $1 FOR UPDATE", copies[0])

    refresh, suspend = asyncio.run(_forced(
        database_url, hold_the_first,
        lambda http: http.post(f"{base}/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": grant["refresh_token"]}),
        lambda http: http.post(f"{running.base}/api/issuer/credentials/{copies[1]}/suspend", headers=staff)))
    assert (refresh.status_code, suspend.status_code) == (200, 200), (refresh.text, suspend.text)


def _proof(base: str) -> str:
    """A key proof for the issuer at ``base``, on a fresh nonce and a fresh key."""
    nonce = httpx.post(f"{base}/nonce", timeout=10).json()["c_nonce"]
    key = keys.generate()
    return _jose.sign_compact({"typ": "openid4vci-proof+jwt", "jwk": key.public_key().to_jwk()},
                              {"aud": base, "iat": int(time.time()), "nonce": nonce}, key)


Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def _forced(database_url: str, hold: Callable[[Any], Awaitable[None]], first: Send, second: Send
                  ) -> tuple[httpx.Response, httpx.Response]:
    """A schedule forced on PostgreSQL: a connection of the test's own takes row locks (``hold``,
    in its transaction); ``first`` is sent and waits for them, then ``second`` waits too; then
    the rows are let go, and both answers come back."""
    async with rows_held(database_url, hold) as (until, release), \
            httpx.AsyncClient(timeout=60, limits=FRESH) as http:
        one = asyncio.ensure_future(first(http))
        await until(1)
        two = asyncio.ensure_future(second(http))
        await until(2)
        await release()
        return await one, await two
