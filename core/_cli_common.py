"""Helpers every ``amana`` sub-command shares: one error mapping, file options, key loading."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from core import keys
from core.errors import AmanaError, InvalidInput, InvalidKey

P = ParamSpec("P")
R = TypeVar("R")
ExistingFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


def fails_as_problem(fn: Callable[P, R]) -> Callable[P, R]:
    """Map AmanaError to problem+json on stderr and exit code 1 — in one place."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except AmanaError as exc:
            sys.stderr.write(json.dumps(exc.problem(), ensure_ascii=False) + "\n")
            raise typer.Exit(1) from None

    return wrapper


MAX_NAME_CHARS = 200  # verifier_desk_keys.name, issuer_staff.name


def operator_name(name: str, what: str) -> str:
    """A desk's or a staff member's name as kept: trimmed, 1 to 200 printable characters (the
    column's size: a longer one was a database error on PostgreSQL, a traceback here)."""
    kept = name.strip()
    if not kept or len(kept) > MAX_NAME_CHARS:
        raise InvalidInput(f"{what} is 1 to {MAX_NAME_CHARS} characters")
    if not kept.isprintable():  # a line break or a terminal escape would forge lines in a listing
        raise InvalidInput(f"{what} must not contain control characters")
    return kept


def option_file(help_text: str) -> Any:
    return typer.Option(..., exists=True, dir_okay=False, readable=True, help=help_text)


def read_token(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def public_keys(path: Path) -> list[keys.PublicKey]:
    """A JWK or a JWK Set; private members, if any, are dropped."""
    doc = keys.read_jwk(path)
    entries = doc.get("keys") if "keys" in doc else [doc]
    if not isinstance(entries, list) or not entries:
        raise InvalidKey(f"{path.name} holds no keys")
    return [keys.PublicKey.from_jwk(k, allow_private_members=True) for k in entries]
