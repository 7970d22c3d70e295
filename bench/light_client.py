"""The load generator's HTTP client for many wallets at once: aiohttp, behind the few httpx
calls the bench's flows make (``request``, ``get``, ``post``; ``status_code``, ``content``,
``text``, ``json()``, ``headers``), with httpx's errors.

The node's worker and this client share a 2-core machine, one core each, so the client must
cost less per flow than the worker or it, not the node, sets the rate. httpx did not: with a
client of its own per wallet it used 5 ms of CPU per issuance flow (four requests) against the
worker's 4, so 16 wallets measured httpx. aiohttp's client does the same requests for about a
third of that (``python -m bench.issuer`` prints both sides' CPU per flow). The flows stay the
wallet's own code (``wallet.present.answer`` posts through this as through httpx); only the
transport under them changes.
"""

from __future__ import annotations

import json as jsonlib
from types import TracebackType
from typing import Any

import aiohttp
import httpx


class Answer:
    """What the flows read of a response."""

    def __init__(self, status: int, body: bytes, headers: Any) -> None:
        self.status_code, self.content, self.headers = status, body, headers

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class LightClient:
    """One connection, kept alive, as one phone's wallet has."""

    def __init__(self, timeout_s: float = 60) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LightClient:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), timeout=self._timeout)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, url: str, *, headers: dict[str, str] | None = None, data: Any = None,
                      json: Any = None, follow_redirects: bool = False) -> Answer:
        """As httpx's (redirects never followed); a failed exchange raises ``httpx.TransportError``,
        which the flows already catch as any ``httpx.HTTPError``."""
        assert self._session is not None, "use the client in an async with block"
        try:
            async with self._session.request(method, url, headers=headers, data=data, json=json,
                                             allow_redirects=False) as response:
                return Answer(response.status, await response.read(), response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise httpx.TransportError(type(exc).__name__) from exc

    async def get(self, url: str, *, headers: dict[str, str] | None = None, follow_redirects: bool = False) -> Answer:
        return await self.request("GET", url, headers=headers)

    async def post(self, url: str, *, data: Any = None, json: Any = None, content: bytes | None = None,
                   headers: dict[str, str] | None = None, follow_redirects: bool = False) -> Answer:
        """As httpx's: ``content`` a body already encoded (with its Content-Type in ``headers``)."""
        return await self.request("POST", url, data=data if content is None else content, json=json, headers=headers)
