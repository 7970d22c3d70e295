"""The node's HTTP server runs uvicorn's C parts (issue 15): httptools parses HTTP/1.1 and uvloop
runs the event loop. uvicorn picks both by itself when they are installed and falls back to
h11 and asyncio silently when not, so a packaging slip would cost every request its share of
pure-Python parsing (about a fifth of the worker's CPU per issuance flow, in one A/B run) without
a word. This proves the installed node gets them, and that it still answers."""

from __future__ import annotations

from pathlib import Path

import httpx
import uvloop
from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tests.node import RunningNode


def test_the_node_parses_http_in_c_on_uvloop(tmp_path: Path) -> None:
    assert AutoHTTPProtocol is HttpToolsProtocol  # not h11's pure-Python parser
    with RunningNode(tmp_path) as node:
        [listening] = node.server.servers
        assert isinstance(listening.get_loop(), uvloop.Loop)
        assert node.server.config.http_protocol_class is HttpToolsProtocol
        answer = httpx.get(f"{node.base}/health", timeout=10)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/")
        # HEAD, as some load balancers and uptime checks probe (RFC 9110 section 9.3.2): GET's
        # status and headers, no body.
        for path, kind in (("/health", "application/json"), ("/", "text/html")):
            probed = httpx.head(f"{node.base}{path}", timeout=10)
            assert probed.status_code == 200 and probed.headers["content-type"].startswith(kind), path
            assert probed.content == b"" and probed.headers["content-security-policy"], path
