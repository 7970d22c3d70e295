"""The independent issuer and verifier (tests/interop/server.mjs, on oid4vc-ts) as a child process.

Bounded like tests/server_process.py: it listens on 127.0.0.1 only, every wait has a deadline, and
it is terminated when the ``with`` block ends. ``node`` missing is the one reason to skip.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.encoding import b64url_encode

HERE = Path(__file__).parent
NODE = shutil.which("node")
SKIP_REASON = "node is not installed: the interop peer (OpenWallet Foundation oid4vc-ts) runs on Node.js"


def installed() -> None:
    """Install the pinned npm packages if `make interop` has not (a bare `pytest` on a fresh clone)."""
    if not (HERE / "node_modules" / ".stamp").exists():
        make = shutil.which("make")
        assert make is not None, "make is needed to install the interop peer's npm packages (make interop)"
        subprocess.run([make, "-s", "interop"], cwd=HERE.parent.parent, check=True, timeout=300)


def self_signed(now: datetime.datetime) -> tuple[dict[str, str], str]:
    """A P-256 key (private JWK) and a self-signed certificate for it (base64 DER), for ``x509_hash``,
    and for ``x509_san_dns:localhost`` (its one dNSName), which the wallet takes only from a verifier
    the trust list registers on that host with that key."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "interop verifier")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .sign(private, hashes.SHA256()))
    der = certificate.public_bytes(serialization.Encoding.DER)
    numbers = private.private_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "d": b64url_encode(numbers.private_value.to_bytes(32, "big")),
           "x": b64url_encode(numbers.public_numbers.x.to_bytes(32, "big")),
           "y": b64url_encode(numbers.public_numbers.y.to_bytes(32, "big"))}
    return jwk, base64.b64encode(der).decode()


class Peer:
    """``node server.mjs``: ``base`` is its http://127.0.0.1:PORT; ``admin`` calls its test endpoints."""

    def __init__(self, log: Path, env: dict[str, str] | None = None) -> None:
        self.log, self.env = log, env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""

    def __enter__(self) -> Peer:
        assert NODE is not None, SKIP_REASON
        installed()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as err:
            self.process = subprocess.Popen([NODE, "server.mjs"], cwd=HERE, stdout=subprocess.PIPE, stderr=err,
                                            env={**os.environ, "PORT": "0", **self.env})
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the peer prints its port first; a crash closes the pipe
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError(f"the interop peer did not start: {self.log.read_text()}")
        self.base = f"http://127.0.0.1:{json.loads(line)['port']}"
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.base}/admin/{path}"
        response = httpx.post(url, json=body, timeout=30) if body is not None else httpx.get(url, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()
