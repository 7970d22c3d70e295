"""``amana trust``: the governance operator's tool (init, add-issuer, suspend-issuer,
register-verifier, sign, show).

Works on a directory (default ``$AMANA_DATA_DIR/trust``) holding the unsigned draft
(``draft.json``), the governance private key (``governance.jwk``, mode 0600), its public
JWK Set (``governance.jwks.json``: the trust anchor verifiers and wallets are given out of
band) and the signed list (``trust-list.jwt``, what ``amana serve`` publishes).
Credential types can be given by name (``SkillCertificate``) or ``vct``; DPV terms as
``dpv:IdentityVerification`` or a full IRI; times as epoch seconds or ISO 8601.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from core import keys
from core._cli_common import fails_as_problem, read_token
from core.credtypes import load_registry
from core.encoding import json_loads_strict
from core.errors import InvalidInput, InvalidTrustList
from core.sdjwt.paths import parse_many
from core.settings import get_settings
from core.trust.document import verify
from core.trust.model import DPV_NAMESPACE, AccreditedIssuer, Draft, PurposeRegistration, RegisteredVerifier, parse
from core.trust.operator import new_draft, put_issuer, put_verifier_purpose, set_issuer_suspension, sign_draft

trust_app = typer.Typer(no_args_is_help=True, help="Governance operator: accredit issuers, register verifiers.")

DirOption = Annotated[Path | None, typer.Option("--dir", help="trust directory (default: $AMANA_DATA_DIR/trust)")]
NameOption = Annotated[list[str], typer.Option("--name", help="LANG=name, repeatable: --name en=… --name ar=…")]


def _dir(directory: Path | None) -> Path:
    return directory or get_settings().trust_dir


def _load_draft(directory: Path) -> Draft:
    path = directory / "draft.json"
    if not path.exists():
        raise InvalidTrustList(f"no draft in {directory}: run `amana trust init` first")
    return parse(Draft, json_loads_strict(path.read_bytes(), "draft.json"))


def _save_draft(directory: Path, draft: Draft) -> None:
    text = json.dumps(draft.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=2)
    (directory / "draft.json").write_text(text + "\n", encoding="utf-8")


def _names(pairs: list[str]) -> dict[str, str]:
    names = {}
    for pair in pairs:
        tag, sep, name = pair.partition("=")
        if not sep:
            raise InvalidInput("--name takes LANG=name, e.g. en=Open Doors")
        names[tag.strip()] = name.strip()
    return names


def _entity_id(value: str, option: str) -> str:
    """An identifier the list will carry: https, or http on loopback in local mode only.

    The list's format allows ``http://127.0.0.1…`` ids so a node on a laptop can accredit
    itself; an operator whose node has a real (https) address is never on a laptop, and an
    http id on their list could only be a mistake or a downgrade.
    """
    if urlsplit(value).scheme != "https" and not get_settings().local_mode:
        raise InvalidInput(f"{option} must be an https:// URL (http:// only in local mode: a node whose "
                           "AMANA_PUBLIC_BASE_URL is http on 127.0.0.1, ::1 or localhost)")
    return value


def _vct(name_or_vct: str) -> str:
    types = load_registry(get_settings().specs_dir)
    return types.by_name(name_or_vct).vct if ":" not in name_or_vct else name_or_vct


def _dpv(term: str) -> str:
    return DPV_NAMESPACE + "#" + term.removeprefix("dpv:") if not term.startswith("https://") else term


def _time(text: str | None, default: int | None) -> int | None:
    if text is None:
        return default
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput("times are epoch seconds or ISO 8601, e.g. 2026-12-01") from exc
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _jwks(path: Path) -> dict[str, Any]:
    doc = keys.read_jwk(path)
    return doc if "keys" in doc else {"keys": [doc]}


def _echo(value: dict[str, Any]) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False))


@trust_app.command("init")
@fails_as_problem
def init(
    iss: Annotated[str, typer.Option(help="the governance operator's id (HTTPS URL)")],
    directory: DirOption = None,
    validity_days: Annotated[int, typer.Option(min=1, max=90, help="each signed list's lifetime")] = 7,
) -> None:
    """Create the draft and the governance key (kept if it already exists)."""
    directory = _dir(directory)
    if (directory / "draft.json").exists():
        raise InvalidTrustList(f"{directory} already holds a draft")
    draft = new_draft(_entity_id(iss, "--iss"), validity_days * 86400)
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / "governance.jwk"
    if not key_path.exists():
        keys.write_private_jwk(keys.generate("ES256"), key_path)
    key = keys.PrivateKey.from_jwk(keys.read_jwk(key_path))
    (directory / "governance.jwks.json").write_text(json.dumps(keys.jwks([key.public_key()]), indent=2) + "\n")
    _save_draft(directory, draft)
    _echo({"iss": iss, "kid": key.kid, "anchor": str(directory / "governance.jwks.json")})


@trust_app.command("add-issuer")
@fails_as_problem
def add_issuer(
    id_: Annotated[str, typer.Option("--id", help="the issuer's id (HTTPS URL, its credentials' iss)")],
    names: NameOption,
    jwks: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="its public JWK or JWK Set")],
    vct: Annotated[list[str], typer.Option(help="credential type it may issue, repeatable")],
    valid_from: Annotated[str | None, typer.Option(help="accredited from (default: today, 00:00 UTC)")] = None,
    valid_until: Annotated[str | None, typer.Option(help="accredited until (default: open)")] = None,
    directory: DirOption = None,
) -> None:
    """Accredit an issuer for credential types (replaces an entry with the same id)."""
    directory = _dir(directory)
    issuer = parse(AccreditedIssuer, {
        "id": _entity_id(id_, "--id"), "names": _names(names), "jwks": _jwks(jwks), "vcts": [_vct(v) for v in vct],
        # Issuers round iat down to the day (unlinkability), so accreditation starts on a day boundary.
        "valid_from": _time(valid_from, int(time.time()) // 86400 * 86400), "valid_until": _time(valid_until, None),
    })
    draft, replaced = put_issuer(_load_draft(directory), issuer)
    _save_draft(directory, draft)
    _echo({"issuer": id_, "vcts": issuer.vcts, "result": "updated" if replaced else "added"})


@trust_app.command("suspend-issuer")
@fails_as_problem
def suspend_issuer(
    id_: Annotated[str, typer.Option("--id", help="the issuer's id")],
    at: Annotated[str | None, typer.Option(help="suspended from (default: now)")] = None,
    lift: Annotated[bool, typer.Option("--lift", help="lift the suspension instead")] = False,
    directory: DirOption = None,
) -> None:
    """Suspend an issuer's accreditation from a time, or lift the suspension."""
    directory = _dir(directory)
    when = None if lift else _time(at, int(time.time()))
    _save_draft(directory, set_issuer_suspension(_load_draft(directory), id_, when))
    _echo({"issuer": id_, "suspended_from": when})


@trust_app.command("register-verifier")
@fails_as_problem
def register_verifier(
    id_: Annotated[str, typer.Option("--id", help="the verifier's id (HTTPS URL)")],
    names: NameOption,
    jwks: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="its request-signing public key(s)")],
    purpose: Annotated[str, typer.Option(help="DPV purpose, e.g. dpv:IdentityVerification")],
    legal_basis: Annotated[str, typer.Option(help="DPV legal basis, e.g. dpv:LegalObligation")],
    claims: Annotated[list[str], typer.Option(help="TYPE:path,path — claims it may request, repeatable")],
    directory: DirOption = None,
) -> None:
    """Register a verifier for one purpose (run again to add another purpose)."""
    directory = _dir(directory)
    credentials = []
    for spec in claims:
        type_name, sep, paths = spec.partition(":") if not spec.startswith("urn:") else spec.rpartition(":")
        if not sep or not paths:
            raise InvalidInput("--claims takes TYPE:path,path, e.g. RegistrationStatus:right_to_work")
        credentials.append({"vct": _vct(type_name), "claims": [list(p) for p in parse_many(paths)]})
    registration = parse(PurposeRegistration, {
        "purpose": _dpv(purpose), "legal_basis": _dpv(legal_basis), "credentials": credentials,
    })
    verifier = parse(RegisteredVerifier, {
        "id": _entity_id(id_, "--id"), "names": _names(names), "jwks": _jwks(jwks),
        "registrations": [registration.model_dump(mode="json")],
    })
    draft, existed = put_verifier_purpose(_load_draft(directory), verifier, registration)
    _save_draft(directory, draft)
    _echo({"verifier": id_, "purpose": registration.purpose, "result": "updated" if existed else "added"})


@trust_app.command("sign")
@fails_as_problem
def sign(
    directory: DirOption = None,
    out: Annotated[Path | None, typer.Option(help="where to write the JWT (default: DIR/trust-list.jwt)")] = None,
) -> None:
    """Sign the draft as the next trust list."""
    directory = _dir(directory)
    key = keys.PrivateKey.from_jwk(keys.read_jwk(directory / "governance.jwk"))
    token, draft = sign_draft(_load_draft(directory), key, int(time.time()))
    (out or directory / "trust-list.jwt").write_text(token + "\n", encoding="ascii")
    _save_draft(directory, draft)
    _echo({"seq": draft.seq, "issuers": len(draft.issuers), "verifiers": len(draft.verifiers)})


@trust_app.command("show")
@fails_as_problem
def show(
    token_file: Annotated[Path | None, typer.Argument(help="signed list (default: DIR/trust-list.jwt)")] = None,
    anchor: Annotated[Path | None, typer.Option(help="governance JWK Set (default: DIR/governance.jwks.json)")] = None,
    directory: DirOption = None,
) -> None:
    """Verify a signed list against the anchor and print its content."""
    directory = _dir(directory)
    token = read_token(token_file or directory / "trust-list.jwt")
    governance = [keys.PublicKey.from_jwk(k) for k in _jwks(anchor or directory / "governance.jwks.json")["keys"]]
    verified = verify(token, governance_keys=governance, now=int(time.time()))
    _echo({"expired": verified.expired, **verified.content.model_dump(mode="json", exclude_none=True)})
