"""The browser's encoder against the Python one (issue 13 item 6): the offline page's JavaScript
(wallet/static/offline.js) builds the presentation the verifier's core.offline decodes. Checked
on the byte-exact vector in tests/vectors/offline/ (its key-binding input, and the QR with only
the 64 signature bytes different), and on many generated inputs for Base45, CBOR and the nonce QR
— in Debian's chromium, the engine the holder's phone runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import keys, offline
from core.offline import _cbor, base45
from tests.browser import CHROMIUM
from tests.node import RunningNode

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
VECTORS = Path(__file__).parent / "vectors" / "offline"
VECTOR = json.loads((VECTORS / "vector.json").read_text())
HEX = """const h = (x) => Uint8Array.from(x.match(/../g) || [], (b) => parseInt(b, 16));
  const hex = (a) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with RunningNode(tmp_path_factory.mktemp("offline-codec")) as node, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        opened = browser.new_page()
        opened.goto(f"{node.base}/wallet/offline?lang=en")
        opened.wait_for_function("window.amanaOffline !== undefined")
        yield opened
        browser.close()


def _pieces() -> tuple[bytes, list[bytes]]:
    return bytes.fromhex(VECTOR["credential"]), [bytes.fromhex(VECTOR["disclosures"][n]) for n in VECTOR["disclosed"]]


def test_the_key_binding_input_is_the_vectors_byte_for_byte(page: Any) -> None:
    cred, disclosures = _pieces()
    made = page.evaluate("""([t, w, n, cred, ds]) => { """ + HEX + """
      return hex(amanaOffline.cbor(["AO1-KB", t, w, h(n), h(cred), ds.map(h)])); }""",
                         [VECTOR["t"], VECTOR["w"], VECTOR["nonce"], cred.hex(), [d.hex() for d in disclosures]])
    assert made == VECTOR["kb_input"]


def test_the_browsers_presentation_is_the_vectors_but_for_its_signature(page: Any) -> None:
    cred, disclosures = _pieces()
    holder = json.loads((VECTORS / "holder.jwk").read_text())
    text = page.evaluate("""async ([jwk, t, w, n, cred, ds]) => { """ + HEX + """
      const key = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
      return amanaOffline.presentation(h(cred), ds.map(h), key, t, w, h(n));
    }""", [{k: holder[k] for k in ("kty", "crv", "x", "y", "d")}, VECTOR["t"], VECTOR["w"], VECTOR["nonce"],
           cred.hex(), [d.hex() for d in disclosures]])
    ours, theirs = base45.decode(text[4:]), base45.decode(VECTOR["qr"][4:])
    assert text[:4] == "AO1:" and len(ours) == len(theirs)
    assert ours[:-64] == theirs[:-64]
    presented = offline.decode(text)
    public = keys.PrivateKey.from_jwk(holder).public_key()
    assert public.verify(presented.signature, presented.binding_input())
    assert presented.binding_input().hex() == VECTOR["kb_input"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=20), st.integers(0, 2**32 - 1),
       st.integers(1, 2**32 - 1), st.one_of(st.none(), st.binary(min_size=8, max_size=8)))
def test_base45_and_cbor_agree_with_python(page: Any, blobs: list[bytes], t: int, w: int, nonce: bytes | None) -> None:
    made = page.evaluate("""([blobs, t, w, n]) => { """ + HEX + """
      const encoded = blobs.map((b) => amanaOffline.base45(h(b)));
      return { b45: encoded, back: encoded.map((e) => hex(amanaOffline.unbase45(e))),
               cbor: hex(amanaOffline.cbor(["AO1-KB", t, w, n === null ? null : h(n), blobs.map(h)])) }; }""",
                         [[b.hex() for b in blobs], t, w, None if nonce is None else nonce.hex()])
    assert made["b45"] == [base45.encode(b) for b in blobs]
    assert made["back"] == [b.hex() for b in blobs]
    assert made["cbor"] == _cbor.dumps(["AO1-KB", t, w, nonce, blobs]).hex()


def test_the_verifiers_nonce_qr_is_read_and_anything_else_refused(page: Any) -> None:
    nonce = bytes(range(1, 9))
    read = page.evaluate("(ts) => ts.map((t) => { const n = amanaOffline.nonceOf(t); return n && Array.from(n); })",
                         [offline.nonce_qr(nonce), "AON1:" + base45.encode(_cbor.dumps([b"1234567"])),
                          "AO1:" + base45.encode(_cbor.dumps([nonce])), "AON1:" + base45.encode(_cbor.dumps(nonce)),
                          "AON1:not base45!"])
    assert read == [list(nonce), None, None, None, None]
