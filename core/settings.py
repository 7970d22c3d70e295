"""The one settings object (pydantic-settings): environment variables ``AMANA_*``.

Later services add their own fields here; nothing else reads the environment.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def shipped(name: str) -> Path:
    """Where a data directory the node needs at run time (``specs``, ``migrations``) lives.

    In a source tree it is the directory at the repository's root, where people edit it; an
    installed package (``pip install .``, the container image) carries a copy inside ``core/``
    (``[tool.hatch.build.targets.wheel.force-include]`` in pyproject.toml), because
    site-packages has no repository root to point into."""
    in_tree = REPO_ROOT / name
    if (REPO_ROOT / "pyproject.toml").is_file() and in_tree.is_dir():
        return in_tree
    return Path(__file__).resolve().parent / name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AMANA_", extra="ignore")

    specs_dir: Path = Field(default_factory=lambda: shipped("specs"), description="credential types, queries, formats")
    clock_skew_s: int = Field(default=60, ge=0, le=600, description="tolerance for exp/nbf/iat")
    kb_max_age_s: int = Field(default=300, ge=1, description="how old a Key Binding JWT may be")
    credential_validity_days: int = Field(default=365, ge=1, description="default credential lifetime")
    refresh_token_days: int = Field(
        default=180, ge=0, le=3650, description="lifetime of the refresh token a holder's wallet gets with its "
        "credentials, to fetch fresh copies of the same credential (0: none issued)")
    max_presentation_bytes: int = Field(default=256 * 1024, ge=1024)
    max_disclosures: int = Field(default=512, ge=1)
    max_depth: int = Field(default=32, ge=2)

    data_dir: Path = Field(default=REPO_ROOT / "var", description="keys, databases and published documents")
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="where `amana serve` is reached")
    trust_anchor: Path | None = Field(default=None, description="governance public JWKS; default in trust_dir")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "AMANA_DATABASE_URL"),
        description="PostgreSQL URL; unset means the embedded SQLite file in data_dir",
    )
    database_pool: int = Field(
        default=16, ge=1, le=500,
        description="PostgreSQL connections each worker keeps per service (issuer, verifier, consent, wallet)",
    )
    secret_key: str | None = Field(default=None, description="base64url 32-byte key sealing secrets at rest")
    verifier_name: str = Field(default="Amana verifier", description="shown to holders; in the certificate")
    fetch_min_ttl_s: int = Field(default=60, ge=0, description="how long a fetched document without a ttl is reused")
    fetch_max_ttl_s: int = Field(default=3600, ge=1,
                                 description="longest a status list is reused, whatever its ttl (the revocation delay)")
    fetch_deadline_s: float = Field(default=10, gt=0, le=300,
                                    description="whole-fetch deadline: resolving, redirects and body included")
    verifier_answer_wait_s: float = Field(
        default=3, ge=0, le=60, description="longest a wallet's direct_post waits for the check; it then finishes "
        "in the background and the desk sees pending, then the result")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="addresses of reverse proxies whose X-Forwarded-For is believed (JSON list)")
    rate_limit_per_s: float = Field(default=50.0, gt=0, description="public protocol POSTs per second per address")
    rate_limit_burst: int = Field(default=200, ge=1, description="public protocol POSTs at once per address")
    wallet_door_per_min: float = Field(
        default=10, gt=0, description="wallets made, unlocked, restored or imported per minute per address (each "
        "costs an Argon2id run, 64 MiB); bursts of up to twice that")
    trust_list_max_age_s: int = Field(default=3600, ge=0, description="Cache-Control cap for /trust-list")
    wallet_idle_lock_s: int = Field(default=300, ge=30, le=3600,
                                    description="a wallet open in a browser locks after this long without use")
    wallet_session_max_s: int = Field(default=8 * 3600, ge=60, description="and after this long in any case")

    @property
    def local_mode(self) -> bool:
        """Whether this node lives on this machine only: its public base URL is plain ``http`` on
        a loopback host (127.0.0.0/8, ::1, localhost), as on a fresh clone.

        Such a node can be reached from nowhere else, so nothing it names can be either: its
        verifier may fetch issuer keys and status lists over http from loopback (its own
        issuers are there), and the trust tool accepts ``http://`` loopback identifiers.
        Everything else is a deployment (an ``https`` URL, or a host others reach): there
        http and loopback fetches are refused, and no setting turns that off, so a node in
        production cannot be talked into calling its own admin port.
        """
        parts = urlsplit(self.public_base_url)
        if parts.scheme != "http" or parts.hostname is None:
            return False
        if parts.hostname == "localhost":
            return True
        try:
            return ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            return False

    @property
    def trust_dir(self) -> Path:
        """The governance operator's files: draft, keys, the signed list."""
        return self.data_dir / "trust"

    @property
    def trust_list_file(self) -> Path:
        return self.trust_dir / "trust-list.jwt"

    @property
    def verifier_id(self) -> str:
        """The verifier's identity in the trust list (its registration)."""
        return self.public_base_url.rstrip("/") + "/verifier"

    @property
    def trust_anchor_file(self) -> Path:
        return self.trust_anchor or self.trust_dir / "governance.jwks.json"


SECRETS_DIR = "/run/secrets"  # where Docker and Kubernetes mount secret files


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The node's settings: the environment, then secret files.

    A secret can also be a file named after its variable, in lower case, in ``AMANA_SECRETS_DIR``
    (default ``/run/secrets``, where compose and Kubernetes mount them): ``amana_secret_key``,
    ``database_url``. pydantic-settings reads them; the environment wins where both are set.
    So a deployment passes secrets without putting them in an image or a compose file."""
    secrets_dir = Path(os.environ.get("AMANA_SECRETS_DIR", SECRETS_DIR))
    if secrets_dir.is_dir():
        return Settings(_secrets_dir=secrets_dir)  # type: ignore[call-arg]
    return Settings()
