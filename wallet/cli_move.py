"""``amana wallet export | import | recover | passphrase | destroy``: a wallet moved between nodes,
or its passphrase changed or recovered (the wallet's other commands are in wallet/cli.py). Each
prints one JSON object; secrets come from the environment or a hidden prompt, never an argument."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from core._cli_common import ExistingFile, fails_as_problem
from core.errors import InvalidInput
from wallet import export, holder
from wallet.cli import (
    EXPORT_ENV,
    NEW_ENV,
    RECOVERY_ENV,
    WalletOption,
    agrees,
    ask_passphrase,
    on_wallets,
    print_json,
    secret,
    wallet_app,
)
from wallet.history import iso
from wallet.vault import parse_recovery_code


@wallet_app.command("export")
@fails_as_problem
def export_(file: Annotated[Path, typer.Argument(dir_okay=False, help="the file to write (encrypted)")],
            wallet: WalletOption = None) -> None:
    """The whole wallet in one file encrypted under an export passphrase (AMANA_WALLET_EXPORT_PASSPHRASE
    or a prompt), for `amana wallet import` on another node."""
    passphrase = ask_passphrase()
    export_passphrase = secret(EXPORT_ENV, "Export passphrase (for this file only)", confirm=True)

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        data = export.dump(opened.wallet_id, opened.contents.to_bytes(), export_passphrase, ctx.now())
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never over an existing file
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return {"exported": opened.wallet_id, "file": str(file), "sha256": hashlib.sha256(data).hexdigest()}

    print_json(on_wallets(work))


@wallet_app.command("import")
@fails_as_problem
def import_(file: ExistingFile) -> None:
    """A wallet from an export file, under your passphrase; prints its new recovery code ONCE.
    A file that was changed, or a wrong export passphrase, is refused and changes nothing."""
    data = file.read_bytes()
    export.header(data)  # not an export file at all: say so before asking for anything
    export_passphrase = secret(EXPORT_ENV, "Export passphrase")
    passphrase = ask_passphrase(confirm=True)
    opened, code = on_wallets(lambda ctx: holder.import_wallet(ctx, data, export_passphrase, passphrase))
    print_json({"wallet_id": opened.wallet_id, "recovery_code": code})


@wallet_app.command("recover")
@fails_as_problem
def recover(wallet: WalletOption = None) -> None:
    """A new passphrase (AMANA_WALLET_PASSPHRASE or a prompt) from the recovery code
    (AMANA_WALLET_RECOVERY_CODE or a prompt). The recovery code stays the same."""
    code = secret(RECOVERY_ENV, "Recovery code", hide=False)
    parse_recovery_code(code)  # a typo is caught here, before any prompt or KDF
    passphrase = ask_passphrase(confirm=True)

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.recover(ctx, await holder.resolve(ctx, wallet), code, passphrase)
        return {"wallet_id": opened.wallet_id, "passphrase_changed": True}

    print_json(on_wallets(work))


@wallet_app.command("passphrase")
@fails_as_problem
def passphrase(wallet: WalletOption = None) -> None:
    """A new passphrase (AMANA_WALLET_NEW_PASSPHRASE or a prompt) after unlocking with the current one;
    only the vault key is re-wrapped, the recovery code stays the same."""
    current = ask_passphrase()
    new = secret(NEW_ENV, "New wallet passphrase", confirm=True)

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), current)
        await holder.change_passphrase(ctx, opened, new)
        return {"wallet_id": opened.wallet_id, "passphrase_changed": True}

    print_json(on_wallets(work))


@wallet_app.command("destroy")
@fails_as_problem
def destroy(exported: Annotated[Path, typer.Option("--exported", exists=True, dir_okay=False,
                                                   help="the export file of this wallet, made before")],
            yes: Annotated[bool, typer.Option("--yes", help="do not ask (scripts)")] = False,
            wallet: WalletOption = None) -> None:
    """Delete this wallet from this node after it was exported; prints a receipt saying so."""
    data = exported.read_bytes()
    made = export.header(data)
    passphrase = ask_passphrase()

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        if made["wallet_id"] != opened.wallet_id:
            raise InvalidInput("that export file is of another wallet: nothing was deleted")
        if not yes and not agrees("Delete this wallet from this node for good?"):
            raise typer.Exit(1)
        await holder.destroy(ctx, opened)
        return {"receipt": "wallet destroyed", "wallet_id": opened.wallet_id, "destroyed_at": iso(ctx.now()),
                "node": ctx.settings.public_base_url, "export_sha256": hashlib.sha256(data).hexdigest(),
                "exported_at": iso(made["exported_at"])}

    print_json(on_wallets(work))
