"""core.routing: a request reaches the route the whole router would give it, found among fewer.

The index is worth having only if it never changes an answer. Two apps are built alike from
FastAPI's own parts — included routers with and without prefixes, path parameters, a ``path``
converter, a mount, methods — one indexed, one not, and every request (each route's own path,
its neighbours with a trailing slash or a wrong method, made-up paths) must get the same status,
body and redirect from both. The node's own app must be indexable at all (a route whose first
segment is a parameter would silently turn the index off) and indexed once it has started.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Literal

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict
from starlette.responses import PlainTextResponse
from starlette.staticfiles import StaticFiles

from core import routing
from core.direct_routes import DirectRoute, NotDirect, direct

TEMPLATES = [  # (router prefix, route path, methods); the order is the routes' order
    ("", "/health", ["GET"]),
    ("", "/issuers/{org}/nonce", ["POST"]),
    ("", "/issuers/{org}/credential", ["POST"]),
    ("", "/issuers/{org}/offers/{code}", ["GET"]),
    ("/api/issuer", "/offers", ["GET", "POST"]),
    ("/api/issuer", "/offers/{code}", ["DELETE"]),
    ("/wallet", "/", ["GET"]),
    ("/wallet", "/cards/{card}", ["GET"]),
    ("/wallet", "/cards/{card}/", ["POST"]),  # a trailing slash of its own
    ("/wallet", "/files/{rest:path}", ["GET"]),
    ("", "/wallet/cards/shown", ["GET"]),  # included before the /wallet router: it shadows cards/{card}; not direct
    ("/verifier/desk", "/checks/{check}", ["GET", "POST"]),
    ("", "/status/{list}", ["GET"]),
    ("", "/issuers/{org}/token", ["GET"]),  # not marked direct (NOT_DIRECT): its 405 must stay its own
    ("", "/issuers/{org}/token", ["POST"]),
]
NOT_DIRECT = {10, 13}  # routes that come first and must keep what they take
WORDS = ["", "health", "issuers", "api", "issuer", "wallet", "cards", "files", "shown", "verifier", "desk",
         "checks", "status", "static", "x", "nonce", "credential", "offers", "a.b", "%41", "..", "1"]


def _answer(number: int) -> Any:
    """An endpoint marked ``direct`` (core.direct_routes) unless in NOT_DIRECT: where the index
    puts it ahead, its ``DirectRoute`` answers, and must answer as the route would have."""

    async def answer(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"route {number} {sorted(request.path_params.items())}")

    return answer if number in NOT_DIRECT else direct(answer)


def _app(tmp: Any, indexed: bool) -> FastAPI:
    app = FastAPI()
    routers: dict[str, APIRouter] = {}
    for number, (prefix, path, methods) in enumerate(TEMPLATES):
        router = routers.setdefault(prefix, APIRouter(prefix=prefix))
        router.add_api_route(path, _answer(number), methods=methods)
        if prefix == "":  # routes of the unprefixed router are included one router each, in turn
            app.include_router(routers.pop(""))
    for router in routers.values():
        app.include_router(router)
    app.mount("/static/files", StaticFiles(directory=tmp), name="static")
    if indexed:
        routing.index(app)
    return app


def _ask(app: FastAPI, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[Any, ...]:
    """Status, body, redirect and the methods a 405 allows."""

    async def go() -> tuple[Any, ...]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as client:  # an absolute URL: "//" is a path too
            response = await client.request(method, f"http://t{path}", headers=headers)
        allowed = sorted(response.headers.get("allow", "").split(", "))
        return response.status_code, response.text, response.headers.get("location"), allowed
    return asyncio.run(go())


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> tuple[FastAPI, FastAPI]:
    tmp = tmp_path_factory.mktemp("static")
    (tmp / "a.txt").write_text("a file")
    whole, indexed = _app(tmp, indexed=False), _app(tmp, indexed=True)
    assert isinstance(indexed.router.middleware_stack, routing.SegmentDispatch)
    assert set(indexed.router.middleware_stack.shards) >= {"health", "issuers", "api", "wallet", "verifier",
                                                            "status", "static"}
    return whole, indexed


def _concrete(path: str) -> str:
    return path.replace("{rest:path}", "a/b/c").replace("{", "v-").replace("}", "")


@pytest.mark.parametrize(("prefix", "path", "methods"), TEMPLATES)
def test_every_route_its_neighbours_and_wrong_methods_answer_as_the_whole_router(
        apps: tuple[FastAPI, FastAPI], prefix: str, path: str, methods: list[str]) -> None:
    whole, indexed = apps
    full = _concrete(prefix + path)
    for method in {*methods, "PUT", "GET"}:
        for variant in {full, full.rstrip("/") or "/", full + "/"}:
            assert _ask(indexed, method, variant) == _ask(whole, method, variant), (method, variant)


def _direct(app: FastAPI) -> dict[str, list[str]]:
    shards = app.router.middleware_stack.shards  # type: ignore[attr-defined]
    return {name: [r.path for r in shard.routes if isinstance(r, DirectRoute)] for name, shard in shards.items()
            if any(isinstance(r, DirectRoute) for r in shard.routes)}


def test_a_direct_route_goes_ahead_only_where_no_earlier_route_could_take_its_request(
        apps: tuple[FastAPI, FastAPI]) -> None:
    """Every route above is marked direct; the ones the comparisons above exercise as
    ``DirectRoute`` are these. Not ``cards/{card}`` (``cards/shown``, not direct, comes first and
    takes GET ``/wallet/cards/shown``), nor ``files/{rest:path}`` (a path converter: it could take anything
    below it); ``cards/{card}/`` is (every route before it that could match takes GET only), and
    so is ``offers/{code}`` (DELETE, which ``/api/issuer/offers`` does not take)."""
    _, indexed = apps
    assert _direct(indexed) == {
        "health": ["/health"],
        "issuers": ["/issuers/{org}/nonce", "/issuers/{org}/credential", "/issuers/{org}/offers/{code}",
                    "/issuers/{org}/token"],
        "api": ["/api/issuer/offers", "/api/issuer/offers/{code}"],
        "wallet": ["/wallet/", "/wallet/cards/{card}/"],
        "verifier": ["/verifier/desk/checks/{check}"],
        "status": ["/status/{list}"],
    }


class _Body(BaseModel):
    x: int


@direct
async def _two_bodies(body: _Body, other: _Body) -> PlainTextResponse:
    return PlainTextResponse(str(body.x + other.x))


def _made_in_a_thread(request: Request) -> str:  # FastAPI runs a plain function on a worker thread
    return "thread"


@direct
async def _sync_dependency(made: Annotated[str, Depends(_made_in_a_thread)]) -> PlainTextResponse:
    return PlainTextResponse(made)


@direct
async def _a_query(x: str) -> PlainTextResponse:  # not a path parameter: FastAPI's query parameter
    return PlainTextResponse(x)


@direct
async def _a_checked_header(code: Annotated[str | None, Header(min_length=5)] = None) -> PlainTextResponse:
    return PlainTextResponse(str(code))


@direct
async def _a_number_header(n: Annotated[int | None, Header()] = None) -> PlainTextResponse:
    return PlainTextResponse(str(n))


@direct
async def _a_checked_path(y: str = Path(min_length=5)) -> PlainTextResponse:
    return PlainTextResponse(y)


async def _anything(request: Request) -> str:
    return "x"


@direct
async def _at_most_one_at_a_time(x: Annotated[str, Depends(_anything, max_concurrency=1)]) -> PlainTextResponse:
    return PlainTextResponse(x)


@direct
async def _not_a_response(request: Request) -> dict[str, str]:
    return {}


def test_a_direct_endpoint_asks_only_for_what_the_adapter_gives_exactly() -> None:
    """A marked endpoint FastAPI would serve differently is refused when the app starts."""
    for endpoint, kwargs in [(_two_bodies, {}), (_not_a_response, {}), (_sync_dependency, {}), (_a_query, {}),
                             (_answer(0), {"dependencies": [Depends(lambda: None)]}), (_a_checked_header, {}),
                             (_a_number_header, {}), (_a_checked_path, {}), (_at_most_one_at_a_time, {}),
                             (_answer(0), {"max_body_size": 8})]:
        app = FastAPI()
        app.add_api_route("/x/{y}", endpoint, methods=["POST"], **kwargs)
        with pytest.raises(NotDirect):
            routing.index(app)


async def _who(request: Request) -> str:
    return "real"


@direct
async def _overridable(name: str, request: Request, me: Annotated[str, Depends(_who)],
                       authorization: Annotated[str | None, Header()] = None) -> PlainTextResponse:
    return PlainTextResponse(f"{name} {me} {authorization} {type(request.scope['route']).__name__}")


def test_an_overridden_dependency_is_honoured_by_the_route_fastapi_serves() -> None:
    """``dependency_overrides`` is FastAPI's; while one is set, the direct routes stand aside.
    Path parameter, dependency and header come to the endpoint as FastAPI gives them."""

    async def stand_in() -> str:
        return "stand-in"

    app = FastAPI()
    app.add_api_route("/x/{name}", _overridable, methods=["POST"])
    routing.index(app)
    assert _ask(app, "POST", "/x/n")[1] == "n real None DirectRoute"
    assert _ask(app, "POST", "/x/n", {"Authorization": "a b"})[1] == "n real a b DirectRoute"
    app.dependency_overrides[_who] = stand_in
    assert _ask(app, "POST", "/x/n", {"Authorization": "a b"})[1] == "n stand-in a b APIRoute"


def test_the_answers_differ_where_they_should(apps: tuple[FastAPI, FastAPI]) -> None:
    """So the comparison above can fail: the routes, a 405, a redirect and a 404 are told apart."""
    _, indexed = apps
    assert _ask(indexed, "GET", "/wallet/cards/shown")[1] == "route 10 []"
    assert _ask(indexed, "GET", "/wallet/cards/other")[1] == "route 7 [('card', 'other')]"
    assert _ask(indexed, "GET", "/issuers/o/nonce")[0] == 405
    assert _ask(indexed, "POST", "/wallet/cards/c")[::3] == (405, ["GET"])  # cards/c/ takes POST; a partial match wins
    assert _ask(indexed, "GET", "/issuers/o/offers/k/")[2] == "http://t/issuers/o/offers/k"
    assert _ask(indexed, "GET", "/static/files/a.txt")[1] == "a file"
    assert _ask(indexed, "GET", "/nowhere")[0] == 404


@settings(max_examples=300)
@given(st.lists(st.sampled_from(WORDS), min_size=0, max_size=5), st.booleans(),
       st.sampled_from(["GET", "POST", "DELETE"]))
def test_any_path_answers_as_the_whole_router(apps: tuple[FastAPI, FastAPI], words: list[str], slash: bool,
                                               method: str) -> None:
    whole, indexed = apps
    path = "/" + "/".join(words) + ("/" if slash and words else "")
    assert _ask(indexed, method, path) == _ask(whole, method, path)


def test_a_router_with_a_parameter_first_is_left_whole(tmp_path: Any) -> None:
    app = FastAPI()
    app.add_api_route("/{anything}/x", lambda anything: anything)
    routing.index(app)
    assert app.router.middleware_stack.shards == {}  # type: ignore[attr-defined]


def test_a_route_added_after_start_up_is_found(tmp_path: Any) -> None:
    indexed = _app(tmp_path, indexed=True)
    assert _ask(indexed, "GET", "/wallet/late")[0] == 404
    indexed.add_api_route("/wallet/late", lambda: PlainTextResponse("late"))
    indexed.add_api_route("/issuers/late", lambda: PlainTextResponse("late too"))
    assert _ask(indexed, "GET", "/wallet/late")[1] == "late"
    assert _ask(indexed, "GET", "/issuers/late")[1] == "late too"


def test_a_router_with_routes_tried_last_or_middleware_of_its_own_is_left_whole() -> None:
    last, inner = FastAPI(), APIRouter()
    inner.add_api_route("/app/x", lambda: "x")
    last.include_router(inner)
    last.router._low_priority_routes.append(object())  # type: ignore[attr-defined] # as frontend() adds
    routing.index(last)
    assert last.router.middleware_stack.shards == {}  # type: ignore[attr-defined]
    wrapped = FastAPI()
    wrapped.add_api_route("/x", lambda: "x")
    wrapped.router.middleware_stack = lambda *_: None  # type: ignore[assignment,method-assign]
    routing.index(wrapped)
    assert not isinstance(wrapped.router.middleware_stack, routing.SegmentDispatch)


def test_the_node_is_indexed_once_started(tmp_path: Any) -> None:
    """Every service's routes begin with a word (no route of the node's starts with a parameter),
    so each request is matched among its own service's routes only, and the wire endpoints
    marked direct are served so."""
    from bench import world

    app = world.build_app(world.settings(tmp_path / "node", 8000, None))

    async def start_and_stop() -> None:
        async with app.router.lifespan_context(app):
            dispatch = app.router.middleware_stack
            assert isinstance(dispatch, routing.SegmentDispatch)
            assert {"issuers", "verifier", "wallet", "consent", "status", ".well-known"} <= set(dispatch.shards)
            wallet_shard = dispatch.shards["wallet"]
            assert len(wallet_shard.routes) < len(app.router.routes) / 2
            # a wallet's requests (OpenID4VCI and OpenID4VP) reach their endpoints first, as Starlette routes
            assert _direct(app) == {
                "issuers": ["/issuers/{slug}/offers/{offer_id}", "/issuers/{slug}/token", "/issuers/{slug}/nonce",
                            "/issuers/{slug}/credential"],
                "verifier": ["/verifier/requests/{check_id}", "/verifier/responses/{check_id}"],
                # and the staff's offer and the desk's check and result, each with a JSON body
                "api": ["/api/issuer/offers", "/api/verifier/checks", "/api/verifier/checks/{check_id}/result"]}

    asyncio.run(start_and_stop())


# --- a JSON body and dependencies (the desk API: core.direct_routes) ---------------------------------


class _Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str
    count: int = 1
    note: dict[str, Any] | None = None
    size: Literal["s", "m"] | None = None


async def _made_once(request: Request) -> list[str]:
    made = request.scope.setdefault("test.made", [])
    made.append("made")
    return made  # type: ignore[no-any-return]


async def _desk(made: Annotated[list[str], Depends(_made_once)],
                authorization: Annotated[str | None, Header()] = None) -> None:
    if authorization != "Bearer right":
        raise HTTPException(401, "a desk key is required")


@direct
async def _order(shop: str, body: _Order, made: Annotated[list[str], Depends(_made_once)],
                 request: Request) -> JSONResponse:
    return JSONResponse({"shop": shop, **body.model_dump(mode="json"), "made": len(made),
                         "by": type(request.scope["route"]).__name__}, status_code=201)


def _order_app(indexed: bool) -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/api")
    router.add_api_route("/shops/{shop}/orders", _order, methods=["POST"], dependencies=[Depends(_desk)],
                         status_code=201)
    app.include_router(router)
    if indexed:
        routing.index(app)
    return app


def _post(app: FastAPI, body: bytes, content_type: str | None, key: str | None) -> tuple[int, Any]:
    headers = {k: v for k, v in (("content-type", content_type), ("authorization", key)) if v is not None}

    async def go() -> tuple[int, Any]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            try:
                r = await client.post("http://t/api/shops/s1/orders", content=body, headers=headers)
            except UnicodeDecodeError:  # FastAPI's own 422 handler fails on bytes not UTF-8: the same either way
                return 500, "UnicodeDecodeError"
        answer = r.json()
        if isinstance(answer, dict) and "by" in answer:
            answer["by"] = "either"
        return r.status_code, answer
    return asyncio.run(go())


ORDER_APPS = (_order_app(indexed=False), _order_app(indexed=True))
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=4),
                           lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner,
                                                                                       max_size=2), max_leaves=4)
BODIES = st.one_of(
    st.fixed_dictionaries({"item": st.text(max_size=4)}, optional={
        "count": st.integers() | st.text(max_size=3), "note": JSON_VALUES, "size": st.sampled_from(["s", "m", "l"]),
        "extra": st.booleans()}).map(lambda d: json.dumps(d).encode()),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=12),
    st.sampled_from([b"", b"{", b'{"item": "a",}', b'{"item": "a"} x', b'\xef\xbb\xbf{"item": "a"}',
                     b"[" * 2000 + b"]" * 2000, b'{"a":' * 2000 + b"1" + b"}" * 2000]))  # too deep to parse


@settings(max_examples=300, deadline=None)
@given(BODIES, st.sampled_from([None, "application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
                                "text/plain", "application/ld+json", "application/x-www-form-urlencoded"]),
       st.sampled_from(["Bearer right", "Bearer wrong", None]))
def test_a_direct_route_with_a_body_answers_every_request_as_fastapi(body: bytes, content_type: str | None,
                                                                     key: str | None) -> None:
    """Any body, content type and desk key: the same status and answer from the direct route (or
    the whole router it hands back to) as from FastAPI alone, errors included."""
    whole, indexed = ORDER_APPS
    assert _post(indexed, body, content_type, key) == _post(whole, body, content_type, key)


def test_the_direct_route_takes_what_it_can_and_makes_each_dependency_once() -> None:
    """So the comparison above can fail: a valid order is the direct route's, its dependency made
    once for the route's dependency and the endpoint both (FastAPI's cache), and an invalid one
    goes back to FastAPI, which refuses it its way."""
    whole, indexed = ORDER_APPS

    async def go(app: FastAPI, body: bytes, key: str = "Bearer right") -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            return await client.post("http://t/api/shops/s1/orders", content=body,
                                     headers={"content-type": "application/json", "authorization": key})

    good = asyncio.run(go(indexed, b'{"item": "tea", "count": "2"}'))
    assert (good.status_code, good.json()) == (201, {"shop": "s1", "item": "tea", "count": 2, "note": None,
                                                     "size": None, "made": 1, "by": "DirectRoute"})
    assert asyncio.run(go(whole, b'{"item": "tea"}')).json()["made"] == 1
    refused = asyncio.run(go(indexed, b'{"item": "tea", "count": "two"}'))
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "count"]
    assert asyncio.run(go(indexed, b'{"item": "tea"}', "Bearer wrong")).status_code == 401


async def _counted(request: Request) -> int:
    request.scope["test.calls"] = request.scope.get("test.calls", 0) + 1
    return int(request.scope["test.calls"])


@direct
async def _twice_made(first: Annotated[int, Depends(_counted, use_cache=False)],
                      then: Annotated[int, Depends(_counted)]) -> PlainTextResponse:
    return PlainTextResponse(f"{first} {then}")


def test_an_uncached_dependency_is_made_every_time_and_what_it_made_is_reused_as_fastapi_does() -> None:
    answers = []
    for indexed in (False, True):
        app = FastAPI()
        app.add_api_route("/x/y", _twice_made, methods=["POST"])
        if indexed:
            routing.index(app)
        answers.append(_ask(app, "POST", "/x/y")[1])
    assert answers == ["1 1", "1 1"]
