"""The export file (wallet/export.py): round trip, wrong passphrase told apart, and any changed
byte refused — never read as other content."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import VaultTampered, WrongPassphrase
from wallet import export
from wallet.vault import KdfParams

FAST = KdfParams(opslimit=1, memlimit=8192)
CONTENT = b'{"version":1,"name":"n","copies":[],"history":[]}'
FILE = export.dump("w-1", CONTENT, "export pass", 1_800_000_000, kdf=FAST)


def test_round_trip_and_wrong_passphrase() -> None:
    loaded = export.load(FILE, "export pass")
    assert (loaded.wallet_id, loaded.exported_at, loaded.content) == ("w-1", 1_800_000_000, CONTENT)
    with pytest.raises(WrongPassphrase):
        export.load(FILE, "export pas")
    assert b'"name":"n"' not in FILE


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(FILE) - 1), byte=st.integers(0, 255))
def test_any_changed_byte_is_refused_or_changes_nothing(index: int, byte: int) -> None:
    changed = FILE[:index] + bytes([byte]) + FILE[index + 1:]
    try:
        loaded = export.load(changed, "export pass")
    except (VaultTampered, WrongPassphrase):
        return
    # JSON whitespace or an equal escape may change and still say the same thing: then it is the same
    assert (loaded.wallet_id, loaded.exported_at, loaded.content) == ("w-1", 1_800_000_000, CONTENT)


def test_a_check_outside_ascii_is_a_wrong_passphrase_not_a_500() -> None:
    """The file's check was compared with compare_digest, which raises for non-ASCII text (helper-69)."""
    import json

    document = json.loads(FILE)
    for check in ("é", "\ud800"):
        with pytest.raises(WrongPassphrase):
            export.load(json.dumps({**document, "check": check}).encode(), "export pass")


@pytest.mark.parametrize("data", [b"", b"[]", b"{}", b"not json", FILE.replace(b"amana-wallet-export/1", b"x"),
                                  FILE.replace(b'"opslimit": 1', b'"opslimit": 99'), b"{" * 100000])
def test_not_an_export_file(data: bytes) -> None:
    with pytest.raises(VaultTampered):
        export.load(data, "export pass")
