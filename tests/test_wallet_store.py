"""The wallet's store and use cases on SQLite and PostgreSQL: one row per wallet, optimistic
concurrency, unlock attempts rate-limited per wallet, and a database that gives nothing away."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text

from core import db
from core.errors import InvalidInput, VaultBusy, VaultConflict, WrongPassphrase, WrongRecoveryCode
from core.settings import Settings
from tests.raw_files import stored_bytes
from tests.test_wallet_cli import QUERY, SKILL
from wallet import holder, store
from wallet.content import Contents, Copy, choose
from wallet.history import Controller, HistoryRecord
from wallet.vault import KdfParams

T = TypeVar("T")
FAST = KdfParams(opslimit=1, memlimit=8192)
PASS = "Zq7-passphrase-of-the-holder"
POSTGRES_URL = os.environ.get("AMANA_TEST_DATABASE_URL")
# What must never be found in the database in the clear.
SECRETS = {"claim value": b"Forklift-Operator-Grade-7", "claim name": b"forkliftCertificateLevel",
           "holder key": b"dPrivateKeyMaterial123", "token": b"eyJhbGciOiJFUzI1NiJ9SecretToken",
           "verifier name": b"Harbour Staffing Agency", "wallet name": b"Amal Haddad", "passphrase": PASS.encode(),
           "issuer": b"issuers/open-doors-unique", "verifier id": b"x509_hash:verifier-id-unique"}


@pytest.fixture(params=["sqlite", "postgresql"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[holder.WalletContext]:
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    settings = Settings(data_dir=tmp_path, database_url=POSTGRES_URL if request.param == "postgresql" else None)

    async def make() -> holder.WalletContext:
        if request.param == "postgresql":
            engine = db.make_engine(db.database_url(settings))
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
            await engine.dispose()
        made = await holder.WalletContext.open(settings, kdf=FAST)
        await made.engine.dispose()  # each asyncio.run below has its own loop: no pooled connection crosses
        return made

    made = asyncio.run(make())
    made.clock = lambda: 1_800_000_000
    yield made
    asyncio.run(made.engine.dispose())


def _copy(n: int) -> Copy:
    secret = SECRETS
    credential = (secret["token"] + b"~" + secret["claim name"] + b":" + secret["claim value"]).decode()
    return Copy(f"c{n}", credential, {"kty": "EC", "d": secret["holder key"].decode()}, SKILL,
                secret["issuer"].decode(), "b1", 1_800_000_000)


def _adding(n: int) -> Callable[[Contents], None]:
    """A change that keeps one more card (copy ``c<n>``)."""
    return lambda contents: contents.copies.append(_copy(n))


def _run(ctx: holder.WalletContext, work: Coroutine[Any, Any, T]) -> T:
    async def go() -> T:
        try:
            return await work
        finally:
            await ctx.engine.dispose()  # each step on fresh connections, as each CLI command

    return asyncio.run(go())


def _stored(ctx: holder.WalletContext) -> bytes:
    """Everything the database holds: the SQLite files (read by a child process: tests.raw_files
    says why), or every row of every table, one line each."""
    return stored_bytes(ctx.settings)


def test_a_wallet_round_trips_and_the_database_gives_nothing_away(ctx: holder.WalletContext) -> None:
    wallet_id, code = _run(ctx, holder.create(ctx, PASS, SECRETS["wallet name"].decode()))
    opened = _run(ctx, holder.unlock(ctx, wallet_id, PASS))

    def hold(contents: Contents) -> None:
        contents.copies += [_copy(1), _copy(2)]
        contents.history.append(HistoryRecord.new(
            "given", Controller(SECRETS["verifier id"].decode(), SECRETS["verifier name"].decode()), 1_800_000_000,
            purposes=("dpv:HumanResourceManagement",), data_categories=(SECRETS["claim name"].decode(),)))

    opened, _ = _run(ctx, holder.update(ctx, opened, hold))
    assert opened.version == 2
    again = _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    assert again.contents == opened.contents and again.contents.name == "Amal Haddad"
    stored = _stored(ctx)
    assert wallet_id.encode() in stored  # the dump is real
    found = [what for what, value in SECRETS.items() if value in stored]
    assert found == [], found
    assert code.replace("-", "").encode() not in stored


def test_two_writers_never_lose_each_others_change(ctx: holder.WalletContext) -> None:
    wallet_id, _ = _run(ctx, holder.create(ctx, PASS, None))
    first = _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    second = _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    _run(ctx, holder.update(ctx, first, lambda c: c.copies.append(_copy(1))))

    async def stale_save() -> None:
        async with ctx.transaction() as session:
            await store.save(session, second.sealed, second.version)

    with pytest.raises(VaultConflict):
        _run(ctx, stale_save())
    _run(ctx, holder.update(ctx, second, lambda c: c.copies.append(_copy(2))))  # retried on the newer content
    final = _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    assert [c.copy_id for c in final.contents.copies] == ["c1", "c2"] and final.version == 3


def test_thirty_changes_to_one_wallet_at_once_all_land(ctx: holder.WalletContext) -> None:
    """Thirty offers redeemed at once: each card already taken from its issuer must be kept
    (helper-63 lost two of thirty when five optimistic retries each met another write)."""
    wallet_id, _ = _run(ctx, holder.create(ctx, PASS, None))
    opened = _run(ctx, holder.unlock(ctx, wallet_id, PASS))

    async def all_at_once() -> None:
        await asyncio.gather(*(holder.update(ctx, opened, _adding(n)) for n in range(30)))

    _run(ctx, all_at_once())
    final = _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    assert sorted(c.copy_id for c in final.contents.copies) == sorted(f"c{n}" for n in range(30))


def test_changes_from_two_worker_processes_at_once_all_land(ctx: holder.WalletContext) -> None:
    """Two contexts on one database, as two workers of ``amana serve --workers 2``: the lock in
    each process does not reach the other, and five optimistic retries lost 1-2 of 30 changes
    (helper-64); the write after a conflict is made under a row lock, and none is lost."""
    wallet_id, _ = _run(ctx, holder.create(ctx, PASS, None))
    opened = _run(ctx, holder.unlock(ctx, wallet_id, PASS))

    async def both_workers() -> None:
        other = await holder.WalletContext.open(ctx.settings, kdf=FAST)
        try:
            await asyncio.gather(*(holder.update(ctx if n % 2 else other, opened, _adding(n)) for n in range(30)))
        finally:
            await other.engine.dispose()

    _run(ctx, both_workers())
    final = _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    assert sorted(c.copy_id for c in final.contents.copies) == sorted(f"c{n}" for n in range(30))


def test_a_passphrase_change_amid_writes_from_two_workers_loses_none_and_fails_not(
        ctx: holder.WalletContext) -> None:
    """A change of passphrase was two writes, the second optimistic (five tries) outside the
    writers' turn: amid thirty writes it could fail, or lose a card (helper-64). It is one write
    through ``update`` now."""
    wallet_id, _ = _run(ctx, holder.create(ctx, PASS, None))
    opened = _run(ctx, holder.unlock(ctx, wallet_id, PASS))

    async def amid_writes() -> None:
        other = await holder.WalletContext.open(ctx.settings, kdf=FAST)
        try:
            writes = [holder.update(ctx if n % 2 else other, opened, _adding(n)) for n in range(30)]
            await asyncio.gather(*writes[:15], holder.change_passphrase(ctx, opened, "a new one"), *writes[15:])
        finally:
            await other.engine.dispose()

    _run(ctx, amid_writes())
    with pytest.raises(WrongPassphrase):
        _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    final = _run(ctx, holder.unlock(ctx, wallet_id, "a new one"))
    assert sorted(c.copy_id for c in final.contents.copies) == sorted(f"c{n}" for n in range(30))
    assert final.contents.epoch == opened.contents.epoch + 1


def test_one_copy_never_goes_to_two_verifiers_even_at_once(ctx: holder.WalletContext) -> None:
    wallet_id, _ = _run(ctx, holder.create(ctx, PASS, None))
    opened = _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    opened, _ = _run(ctx, holder.update(ctx, opened, lambda c: c.copies.append(_copy(1))))

    def give(to: str) -> Callable[[Contents], None]:
        def change(contents: Contents) -> None:
            for copy in choose(contents.copies, QUERY, to).values():
                copy.shown_to = to
        return change

    both_read_it = opened
    _run(ctx, holder.update(ctx, both_read_it, give("https://a.example")))
    with pytest.raises(InvalidInput, match="shown to another verifier"):  # re-chosen on the fresh content
        _run(ctx, holder.update(ctx, both_read_it, give("https://b.example")))


def test_wrong_passphrases_are_rate_limited_per_wallet_and_change_nothing(ctx: holder.WalletContext) -> None:
    wallet_id, _ = _run(ctx, holder.create(ctx, PASS, None))
    other_id, _ = _run(ctx, holder.create(ctx, PASS, None))
    before = _stored(ctx) if ctx.settings.database_url else None
    for _ in range(5):
        with pytest.raises(WrongPassphrase):
            _run(ctx, holder.unlock(ctx, wallet_id, PASS + "x"))
    with pytest.raises(VaultBusy):  # the right one too, for now: the brake is before the KDF
        _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    _run(ctx, holder.unlock(ctx, other_id, PASS))  # another wallet is not held up
    if before is not None:  # PostgreSQL: the vault rows themselves are byte for byte the same
        vaults = [line for line in _stored(ctx).split(b"\n") if wallet_id.encode() in line]
        assert vaults and all(line in before for line in vaults)
    ctx.clock = lambda: 1_800_000_002  # after the backoff
    _run(ctx, holder.unlock(ctx, wallet_id, PASS))


def test_an_unknown_wallet_code_costs_one_derivation_off_the_event_loop_as_a_wrong_passphrase_does(
        ctx: holder.WalletContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """The decoy checked for an unknown code was made with ``vault.create`` on the event loop:
    two Argon2id runs (0.2-0.4 s) that stalled every request of the process, and a first unknown
    code after a restart three times as slow as a real one (helper-63)."""
    import threading

    from wallet import vault

    wallet_id, _ = _run(ctx, holder.create(ctx, PASS, None))
    derived: list[tuple[str, vault.KdfParams]] = []
    real_derive = vault.derive

    def counted(secret: bytes, salt: bytes, kdf: vault.KdfParams) -> bytes:
        derived.append((threading.current_thread().name, kdf))
        return real_derive(secret, salt, kdf)

    monkeypatch.setattr(vault, "derive", counted)
    loop_thread = threading.current_thread().name  # asyncio.run keeps the loop on this thread
    for code in (wallet_id, "W-ZZZZ-ZZZZ-ZZZ2"):
        derived.clear()
        with pytest.raises(WrongPassphrase):
            _run(ctx, holder.unlock(ctx, code, PASS + "x"))
        assert [kdf for _, kdf in derived] == [ctx.kdf], code
        assert all(thread != loop_thread for thread, _ in derived), code


def test_wrong_passphrases_never_hold_back_the_recovery_sheet(ctx: holder.WalletContext) -> None:
    """Anyone who knows a wallet code can run up its passphrase count; the holder's recovery code
    (130 random bits) is counted apart, and a right one clears both counts."""
    wallet_id, code = _run(ctx, holder.create(ctx, PASS, None))
    for _ in range(8):
        with pytest.raises((WrongPassphrase, VaultBusy)):
            _run(ctx, holder.unlock(ctx, wallet_id, PASS + "x"))
    with pytest.raises(VaultBusy):
        _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    _run(ctx, holder.recover(ctx, wallet_id, code, "a new passphrase"))
    _run(ctx, holder.unlock(ctx, wallet_id, "a new passphrase"))


def test_recovery_sets_a_new_passphrase_and_a_wrong_code_changes_nothing(ctx: holder.WalletContext) -> None:
    from wallet.vault import new_recovery_code

    wallet_id, code = _run(ctx, holder.create(ctx, PASS, "n"))
    with pytest.raises(WrongRecoveryCode):
        _run(ctx, holder.recover(ctx, wallet_id, new_recovery_code(), "new"))
    _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    _run(ctx, holder.recover(ctx, wallet_id, code, "new one"))
    with pytest.raises(WrongPassphrase):
        _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    opened = _run(ctx, holder.unlock(ctx, wallet_id, "new one"))
    assert opened.contents.name == "n"


def test_a_new_passphrase_rewraps_the_key_and_keeps_the_content(ctx: holder.WalletContext) -> None:
    wallet_id, code = _run(ctx, holder.create(ctx, PASS, "n"))
    opened = _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    changed = _run(ctx, holder.change_passphrase(ctx, opened, "another"))
    assert changed.sealed.recovery == opened.sealed.recovery  # the key is the same, wrapped anew
    assert changed.contents.epoch == opened.contents.epoch + 1  # browsers opened before are locked out
    assert changed.contents.to_bytes().replace(b'"epoch":1', b'"epoch":0') == opened.contents.to_bytes()
    with pytest.raises(WrongPassphrase):
        _run(ctx, holder.unlock(ctx, wallet_id, PASS))
    assert _run(ctx, holder.unlock(ctx, wallet_id, "another")).contents.name == "n"
    _run(ctx, holder.recover(ctx, wallet_id, code, "third"))  # the recovery code still opens it
