"""``amana``: the command-line tool. ``keys``, ``credential``, ``trust`` work offline; ``serve`` runs the services.

It lives in ``server`` because it gathers every service's commands (``issuer``, ``verifier``)
and the node itself: the composition root sits on top, never in ``core``.

Every command that fails on purpose exits 1 and writes an RFC 9457 problem object
(``type``, ``title``, ``detail``, ``code``) to stderr; usage errors exit 2. Nothing
secret is printed: key commands write private keys to files (mode 0600), never stdout.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

import consent.cli_records  # noqa: F401  (adds purge and report to `amana consent`)
import wallet.cli_move  # noqa: F401  (adds export, import, recover, passphrase, destroy to `amana wallet`)
from consent.cli import consent_app
from core import keys
from core._cli_common import ExistingFile, fails_as_problem, option_file, public_keys, read_token
from core.credtypes import load_registry
from core.encoding import json_loads_strict
from core.offline import OfflinePolicy
from core.sdjwt import KeyBindingPolicy, VerifyPolicy, parse_many, present, verify
from core.sdjwt.vc import issue_vc, verify_vc_open
from core.settings import get_settings
from core.trust.cli import trust_app
from issuer.cli import issuer_app
from server import cli_offline
from verifier.cli import verifier_app
from wallet.cli import wallet_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Amana identity wallet tools.")
keys_app = typer.Typer(no_args_is_help=True, help="Generate signing keys (JWK).")
credential_app = typer.Typer(no_args_is_help=True, help="Issue, present and verify SD-JWT VCs.")


@app.callback()
def _private_files() -> None:
    """Everything the node and its commands write — the database, keys, the trust list, the
    shell wallet — is for its own user only: files 0600, directories 0700 (issue 11: the
    SQLite file came out world-readable). Public documents are served over HTTP, not shared
    through the file system; a public JWKS written with ``--jwks-out`` is yours to chmod."""
    os.umask(0o077)


app.add_typer(keys_app, name="keys")
app.add_typer(credential_app, name="credential")
app.add_typer(trust_app, name="trust")
app.add_typer(issuer_app, name="issuer")
app.add_typer(verifier_app, name="verifier")
app.add_typer(wallet_app, name="wallet")
app.add_typer(consent_app, name="consent")

class AlgChoice(StrEnum):
    ES256 = "ES256"
    EdDSA = "EdDSA"


class Profile(StrEnum):
    sd_jwt_vc = "sd-jwt-vc"
    sd_jwt = "sd-jwt"


@keys_app.command("generate")
@fails_as_problem
def keys_generate(
    out: Annotated[Path, typer.Option(help="where to write the private JWK (mode 0600)")],
    alg: Annotated[AlgChoice, typer.Option(help="signature algorithm")] = AlgChoice.ES256,
    public_out: Annotated[Path | None, typer.Option(help="also write the public JWK here")] = None,
) -> None:
    """Generate a key; its RFC 7638 thumbprint becomes its kid and is printed."""
    key = keys.generate(alg.value)
    keys.write_private_jwk(key, out)
    if public_out is not None:
        public_out.write_text(json.dumps(key.public_key().to_jwk(), indent=2) + "\n")
    typer.echo(json.dumps({"kid": key.kid, "alg": key.alg}))


@credential_app.command("issue")
@fails_as_problem
def credential_issue(
    type_: Annotated[str, typer.Option("--type", help="credential type, e.g. SkillCertificate")],
    claims: Annotated[Path, option_file("JSON file with the credential's claims")],
    issuer_key: Annotated[Path, option_file("issuer's private JWK")],
    holder_jwk: Annotated[Path, option_file("holder's public JWK (becomes cnf.jwk)")],
    iss: Annotated[str, typer.Option(help="issuer identifier (HTTPS URL)")] = "https://issuer.amana.test",
    valid_days: Annotated[int, typer.Option(min=1, help="validity in days")] = 365,
    offline: Annotated[bool, typer.Option(help="the compact copy for offline QR (P-256 holder key)")] = False,
    status_list: Annotated[str, typer.Option(help="--offline: the status list (number or id)")] = "0",
    status_idx: Annotated[int, typer.Option(min=0, help="--offline: the index in that list")] = 0,
) -> None:
    """Issue an SD-JWT VC (or with --offline its compact copy, as JSON); the credential is written to stdout."""
    settings = get_settings()
    ctype = load_registry(settings.specs_dir).by_name(type_)
    claims_doc = json_loads_strict(claims.read_bytes(), "claims file")
    if offline:
        ctype.check_issuance(claims_doc)
        holder = keys.PublicKey.from_jwk(keys.read_jwk(holder_jwk), allow_private_members=True)
        typer.echo(cli_offline.issue_file(
            claims_doc, ctype.vct, keys.PrivateKey.from_jwk(keys.read_jwk(issuer_key)), holder,
            now=int(time.time()), valid_for_s=valid_days * 86400,
            status=(int(status_list) if status_list.isascii() and status_list.isdigit() else status_list, status_idx)))
        return
    token = issue_vc(
        ctype,
        claims_doc,
        issuer=iss,
        issuer_key=keys.PrivateKey.from_jwk(keys.read_jwk(issuer_key)),
        holder_key=keys.PublicKey.from_jwk(keys.read_jwk(holder_jwk), allow_private_members=True),
        now=int(time.time()),
        valid_for_s=valid_days * 86400,
    )
    typer.echo(token)


@credential_app.command("present")
@fails_as_problem
def credential_present(
    credential: ExistingFile,
    disclose: Annotated[list[str], typer.Option(help="claim paths to show: a.b,c.* (repeatable)")],
    holder_key: Annotated[Path, option_file("holder's private JWK")],
    aud: Annotated[str, typer.Option(help="the verifier the presentation is for")],
    nonce: Annotated[str, typer.Option(help="the verifier's nonce (offline: its AON1: text, 16 hex digits, or any "
                                            "text, hashed)")],
    offline_qr: Annotated[Path | None, typer.Option(help="an offline credential: write the QR here (.png or "
                                                         ".svg)")] = None,
    window: Annotated[int, typer.Option(min=1, help="offline QR: seconds it stays valid (over 120: paper)")] = 120,
) -> None:
    """Present chosen claims with a Key Binding JWT (stdout); or, --offline-qr, an offline QR image."""
    paths = [p for option in disclose for p in parse_many(option)]
    document = credential.read_text(encoding="utf-8")
    if offline_qr is not None or cli_offline.is_offline_file(document):
        if offline_qr is None:
            raise typer.BadParameter("an offline credential is shown as a QR: give --offline-qr OUT.png",
                                     param_hint="--offline-qr")
        written = cli_offline.present_qr(document, paths, keys.PrivateKey.from_jwk(keys.read_jwk(holder_key)),
                                         nonce=nonce, now=int(time.time()), window_s=window, out=offline_qr)
        typer.echo(json.dumps({**written, "aud": aud}))  # the QR has no audience field: recorded here only
        return
    token = present(
        read_token(credential),
        paths,
        holder_key=keys.PrivateKey.from_jwk(keys.read_jwk(holder_key)),
        audience=aud,
        nonce=nonce,
        now=int(time.time()),
    )
    typer.echo(token)


@credential_app.command("verify")
@fails_as_problem
def credential_verify(
    issuer_jwk: Annotated[Path, option_file("issuer's public JWK or JWK Set")],
    presentation: Annotated[Path | None, typer.Argument(exists=True, dir_okay=False, readable=True)] = None,
    qr_file: Annotated[Path | None, typer.Option("--qr", exists=True, dir_okay=False, readable=True,
                                                 help="an offline QR: PNG/JPEG image, or a file with its text")] = None,
    iss: Annotated[str, typer.Option(help="--qr: the issuer id the key stands for")] = "https://issuer.amana.test",
    aud: Annotated[str | None, typer.Option(help="expected audience; requires a KB-JWT")] = None,
    nonce: Annotated[str | None, typer.Option(help="expected nonce; requires a KB-JWT")] = None,
    profile: Annotated[Profile, typer.Option(help="sd-jwt-vc, or plain RFC 9901 sd-jwt")] = Profile.sd_jwt_vc,
    kb_max_age: Annotated[int | None, typer.Option(help="seconds a KB-JWT may be old")] = None,
) -> None:
    """Verify; on success print {"claims": ...} and exit 0."""
    settings = get_settings()
    if qr_file is not None:  # offline: the nonce is optional, the audience only echoed (the QR has none)
        policy_offline = OfflinePolicy(clock_skew_s=settings.clock_skew_s, require_nonce=nonce is not None)
        checked_qr = cli_offline.verify_qr(cli_offline.read_qr(qr_file), public_keys(issuer_jwk), iss=iss,
                                           nonce=nonce, now=int(time.time()), policy=policy_offline)
        typer.echo(json.dumps({**checked_qr, **({"aud": aud} if aud else {})}, ensure_ascii=False))
        return
    if presentation is None:
        raise typer.BadParameter("give a presentation file, or --qr IMAGE")
    if (aud is None) != (nonce is None):
        raise typer.BadParameter("--aud and --nonce go together")
    kb = None
    if aud is not None and nonce is not None:
        kb = KeyBindingPolicy(aud, nonce, kb_max_age or settings.kb_max_age_s)
    policy = VerifyPolicy(
        clock_skew_s=settings.clock_skew_s,
        max_bytes=settings.max_presentation_bytes,
        max_disclosures=settings.max_disclosures,
        max_depth=settings.max_depth,
    )
    issuer_keys = public_keys(issuer_jwk)
    now = int(time.time())
    if profile is Profile.sd_jwt_vc:  # any vct: an unknown one is checked without type rules, and says so
        checked = verify_vc_open(read_token(presentation), issuer_keys=issuer_keys, now=now, key_binding=kb,
                                 types=load_registry(settings.specs_dir), policy=policy)
        typer.echo(json.dumps({"claims": checked.claims, "type_rules": checked.type_rules}, ensure_ascii=False))
        return
    claims = verify(read_token(presentation), issuer_keys=issuer_keys, now=now, key_binding=kb, policy=policy).claims
    typer.echo(json.dumps({"claims": claims}, ensure_ascii=False))


def announced_url(host: str, port: int) -> str:
    """The public base URL of a node listening on ``host:port`` when none is configured (IPv6 in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listening_port(public_base_url: str | None, port: int | None) -> int:
    """``--port`` when given; else the port of a configured http URL on loopback (the README's
    ``AMANA_PUBLIC_BASE_URL=http://127.0.0.1:8156``: the node listens where its links point),
    else 8000. An https or public URL names a proxy's port, not this process's."""
    if port is not None:
        return port
    if public_base_url is not None:
        parts = urlsplit(public_base_url)
        if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
            return _url_port(public_base_url)
    return 8000


def _url_port(url: str) -> int:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # ":abc", ":99999"
        port = 0
    if port == 0:
        raise typer.BadParameter(f"{url} names no usable port", param_hint="AMANA_PUBLIC_BASE_URL")
    return port if port is not None else 443 if parts.scheme == "https" else 80


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="TCP port (default: the port of "
                                             "AMANA_PUBLIC_BASE_URL when it is http on loopback, else 8000)")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes sharing the port and the database "
                                         "(state lives in the database; PostgreSQL for more than one)")] = 1,
) -> None:
    """Run every service, announced at http://HOST:PORT unless AMANA_PUBLIC_BASE_URL says otherwise."""
    import uvicorn

    settings = get_settings()
    announced = settings.public_base_url if "public_base_url" in settings.model_fields_set else None
    port = listening_port(announced, port)
    if "public_base_url" not in settings.model_fields_set:  # offer links, issuer ids, the verifier id follow the port
        if _is_wildcard(host):
            raise typer.BadParameter("listening on every interface: set AMANA_PUBLIC_BASE_URL to the address "
                                     "others reach this node at", param_hint="--host")
        settings = settings.model_copy(update={"public_base_url": announced_url(host, port)})
    if settings.local_mode and not _is_loopback(host):
        # Local mode lets the verifier fetch from loopback; a node others can reach must not.
        raise typer.BadParameter(f"{settings.public_base_url} is local mode (http on loopback), which serves this "
                                 "machine only: listen on 127.0.0.1, or give an https AMANA_PUBLIC_BASE_URL",
                                 param_hint="--host")
    if workers > 1 and not settings.database_url:
        # SQLite would work across processes, one writer at a time; it is the one-process default.
        raise typer.BadParameter("several workers share one database server: set DATABASE_URL to PostgreSQL",
                                 param_hint="--workers")
    # uvicorn's access log prints concrete paths (offer and check ids); core.web.AccessLog logs routes.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin and DDL notes at every start: noise
    logging.getLogger("amana").info("public base URL %s (local mode: %s, workers: %d)", settings.public_base_url,
                                    settings.local_mode, workers)
    base = settings.public_base_url.rstrip("/")  # where each person starts (helper-92: the log named none)
    logging.getLogger("amana").info("staff console %s/issuer/console (sign in with a staff key: create-org, "
                                    "add-staff) · desk %s/verifier/desk · wallet %s/wallet", base, base, base)
    from core.web_pages import QR_TOOLS, vendored

    missing = [name for name in QR_TOOLS if not vendored(name)]
    if missing:
        logging.getLogger("amana").warning(
            "no QR reader or encoder here (%s missing from core/static/vendor): the pages cannot scan QR codes "
            "in browsers without their own reader, nor draw the offline QR; `make setup` vendors them (needs npm)",
            ", ".join(missing))
    if settings.local_mode and _url_port(settings.public_base_url) != port:
        logging.getLogger("amana").warning(
            "the links this node hands out name port %s, but it listens on %d: nothing answers them unless a "
            "proxy forwards (drop --port, or make AMANA_PUBLIC_BASE_URL name this port)",
            _url_port(settings.public_base_url), port)
    # Forwarded headers only from configured proxies (uvicorn trusts 127.0.0.1 by default).
    proxies = settings.trusted_proxies
    options = {"host": host, "port": port, "log_level": "info", "access_log": False,
               "proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}
    if workers == 1:
        from server.app import build_app

        uvicorn.run(build_app(settings), **options)  # type: ignore[arg-type]
        return
    # Each worker is a fresh process that builds its app from the environment (server.app:
    # build_app as a factory), so what this command decided travels there: the public URL.
    os.environ["AMANA_PUBLIC_BASE_URL"] = settings.public_base_url
    uvicorn.run("server.app:build_app", factory=True, workers=workers, **options)  # type: ignore[arg-type]


@app.command("migrate")
def migrate() -> None:
    """Bring the database schema up to date, then exit: the one-shot step before workers start.

    Workers migrate at start-up too (under a lock on PostgreSQL, so a fleet starting together
    is safe); this lets a deployment do it once, first, and see it fail on its own."""
    import asyncio

    from core import db

    async def run() -> None:
        engine = db.make_engine(db.database_url(get_settings()))
        try:
            await db.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    typer.echo("database schema is up to date")


@app.command("demo")
def demo() -> None:
    """Run the whole story in one process, printing each step in plain words."""
    from server.demo import run

    raise typer.Exit(run())


if __name__ == "__main__":  # pragma: no cover
    app()
