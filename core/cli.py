"""``amana``: the command-line tool. ``keys``, ``credential``, ``trust`` work offline; ``serve`` runs the services.

Every command that fails on purpose exits 1 and writes an RFC 9457 problem object
(``type``, ``title``, ``detail``, ``code``) to stderr; usage errors exit 2. Nothing
secret is printed: key commands write private keys to files (mode 0600), never stdout.
"""

from __future__ import annotations

import json
import logging
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from core import keys
from core._cli_common import ExistingFile, fails_as_problem, option_file, public_keys, read_token
from core.credtypes import load_registry
from core.encoding import json_loads_strict
from core.sdjwt import KeyBindingPolicy, VerifyPolicy, parse_many, present, verify
from core.sdjwt.vc import issue_vc, verify_vc_open
from core.settings import get_settings
from core.trust.cli import trust_app
from issuer.cli import issuer_app
from verifier.cli import verifier_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Amana identity wallet tools.")
keys_app = typer.Typer(no_args_is_help=True, help="Generate signing keys (JWK).")
credential_app = typer.Typer(no_args_is_help=True, help="Issue, present and verify SD-JWT VCs.")
app.add_typer(keys_app, name="keys")
app.add_typer(credential_app, name="credential")
app.add_typer(trust_app, name="trust")
app.add_typer(issuer_app, name="issuer")
app.add_typer(verifier_app, name="verifier")

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
) -> None:
    """Issue an SD-JWT VC; the credential is written to stdout."""
    settings = get_settings()
    ctype = load_registry(settings.specs_dir).by_name(type_)
    claims_doc = json_loads_strict(claims.read_bytes(), "claims file")
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
    nonce: Annotated[str, typer.Option(help="the verifier's nonce")],
) -> None:
    """Present chosen claims with a Key Binding JWT; the presentation goes to stdout."""
    paths = [p for option in disclose for p in parse_many(option)]
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
    presentation: ExistingFile,
    issuer_jwk: Annotated[Path, option_file("issuer's public JWK or JWK Set")],
    aud: Annotated[str | None, typer.Option(help="expected audience; requires a KB-JWT")] = None,
    nonce: Annotated[str | None, typer.Option(help="expected nonce; requires a KB-JWT")] = None,
    profile: Annotated[Profile, typer.Option(help="sd-jwt-vc, or plain RFC 9901 sd-jwt")] = Profile.sd_jwt_vc,
    kb_max_age: Annotated[int | None, typer.Option(help="seconds a KB-JWT may be old")] = None,
) -> None:
    """Verify; on success print {"claims": ...} and exit 0."""
    if (aud is None) != (nonce is None):
        raise typer.BadParameter("--aud and --nonce go together")
    settings = get_settings()
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


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
) -> None:
    """Run every service in one process (public base URL from AMANA_PUBLIC_BASE_URL)."""
    import uvicorn

    from server.app import build_app

    # uvicorn's access log prints concrete paths (offer and check ids); core.web.AccessLog logs routes.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(build_app(), host=host, port=port, log_level="info", access_log=False)


@app.command("demo")
def demo() -> None:
    """Run the whole story in one process, printing each step in plain words."""
    from core.demo import run

    raise typer.Exit(run())


if __name__ == "__main__":  # pragma: no cover
    app()
