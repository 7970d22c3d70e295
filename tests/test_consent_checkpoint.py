"""C2SP signed notes and tlog checkpoints: the spec's examples, round trips and refusals."""

from __future__ import annotations

import base64
import contextlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.checkpoint import (
    Checkpoint,
    InvalidNote,
    Signer,
    Verifier,
    open_note,
    parse_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)

# c2sp.org/signed-note, "Verifier keys / Example": this vkey verifies this note.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = ("This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ON"
             "ncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")
# c2sp.org/tlog-checkpoint's example (its vkey is not published: parsed, not verified).
SPEC_CHECKPOINT = ("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
                   "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
                   "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n")
ORIGIN = "node.example/consent"
ROOT = bytes(range(32))


def _signer(name: str = ORIGIN, seed: int = 1) -> Signer:
    return Signer(name, ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def test_the_spec_example_note_verifies_with_its_vkey() -> None:
    verifier = Verifier.from_vkey(SPEC_VKEY)
    assert verifier.vkey() == SPEC_VKEY
    assert open_note(SPEC_NOTE, [verifier]) == "This is an example message.\n"
    assert open_note(SPEC_NOTE.encode(), [verifier]) == "This is an example message.\n"


def test_the_spec_example_checkpoint_parses() -> None:
    text = SPEC_CHECKPOINT[:SPEC_CHECKPOINT.index("\n\n") + 1]
    checkpoint = parse_checkpoint(text)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.body() == text
    with pytest.raises(InvalidNote):  # signed by a key we do not know: rejected, never trusted
        open_note(SPEC_CHECKPOINT, [Verifier.from_vkey(SPEC_VKEY)])


def test_a_signed_checkpoint_round_trips() -> None:
    signer = _signer()
    signed = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), signer)
    vkey = signer.verifier().vkey()
    assert vkey.startswith(ORIGIN + "+") and Verifier.from_vkey(vkey) == signer.verifier()
    assert verify_checkpoint(signed.note, Verifier.from_vkey(vkey), ORIGIN) == signed.checkpoint
    assert signed.note.startswith(f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}\n\n\u2014 {ORIGIN} ")
    assert "private" not in repr(signer) and "Ed25519PrivateKey" not in repr(signer)


def test_the_wrong_key_or_origin_is_refused() -> None:
    signed = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), _signer())
    with pytest.raises(InvalidNote):  # same name, other key: unknown key ID, so no known signature
        verify_checkpoint(signed.note, _signer(seed=2).verifier(), ORIGIN)
    with pytest.raises(InvalidNote):
        verify_checkpoint(signed.note, _signer("other.example/log").verifier(), ORIGIN)
    other = sign_checkpoint(Checkpoint("other.example/log", 7, ROOT), _signer("other.example/log"))
    with pytest.raises(InvalidNote):
        verify_checkpoint(other.note, _signer("other.example/log").verifier(), ORIGIN)


def test_a_known_key_id_with_a_bad_signature_rejects_the_note() -> None:
    signer = _signer()
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), signer).note
    line = note.rsplit("\n", 2)[-2]
    raw = bytearray(base64.b64decode(line.split(" ")[-1]))
    raw[10] ^= 1
    forged = note.replace(line.split(" ")[-1], base64.b64encode(bytes(raw)).decode())
    with pytest.raises(InvalidNote):
        open_note(forged, [signer.verifier()])
    # an extra signature by an unknown key is ignored; the known one still carries the note
    extra = note + f"\u2014 witness.example {base64.b64encode(b'abcd' + bytes(64)).decode()}\n"
    assert open_note(extra, [signer.verifier()]) == note.split("\n\n")[0] + "\n"


def test_sixteen_signatures_of_post_quantum_size_are_accepted() -> None:
    """signed-note: a verifier MUST accept up to 16 signatures, and post-quantum ones are nearly 5 kB
    (helper-84: a 64 KB cap refused 15 cosignatures of 4,627 bytes beside the log's own)."""
    signer = _signer()
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), signer).note
    big = "".join(f"\u2014 witness{i}.example {base64.b64encode(bytes([i]) * 4 + bytes(4_996)).decode()}\n"
                  for i in range(15))
    assert len((note + big).encode()) > 100_000
    assert open_note(note + big, [signer.verifier()]) == note.split("\n\n")[0] + "\n"
    with pytest.raises(InvalidNote):  # a seventeenth is over the limit the spec lets a verifier set
        open_note(note + big + big.split("\n")[0] + "\n", [signer.verifier()])


@pytest.mark.parametrize("change", [
    lambda n: n.replace("\n7\n", "\n8\n"),  # altered size
    lambda n: n.replace(ORIGIN + "\n", ORIGIN + "x\n", 1),  # altered origin
    lambda n: n.replace("AAECAwQF", "AAECAwQG"),  # altered root
    lambda n: n.replace("\n", "\r\n"),  # CRLF line endings
    lambda n: n.replace("\n\n", "\nextension\n\n"),  # an extension line (unsigned)
    lambda n: n.replace("\n\n", "\n\n\n"),  # an extra blank line
    lambda n: n + "\n",  # trailing blank line
    lambda n: n + "trailing text\n",  # a line after the signatures
    lambda n: n[:-1],  # no final newline
    lambda n: n.replace("\u2014 ", "- "),  # hyphen for em dash
    lambda n: n.split("\n\n")[0] + "\n",  # no signatures at all
    lambda n: n.replace("\n", "\n\x00", 1),  # a control character
])
def test_an_altered_note_is_refused(change: object) -> None:
    signer = _signer()
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), signer).note
    bad = change(note)  # type: ignore[operator]
    assert bad != note
    with pytest.raises(InvalidNote):
        verify_checkpoint(bad, signer.verifier(), ORIGIN)


def test_a_signed_extension_is_still_refused_by_this_log() -> None:
    signer = _signer()
    note = signer.sign(f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}\nextra\n")
    assert parse_checkpoint(open_note(note, [signer.verifier()])).extensions == ("extra",)
    with pytest.raises(InvalidNote):
        verify_checkpoint(note, signer.verifier(), ORIGIN)
    with pytest.raises(InvalidNote):
        sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT, ("extra",)), signer)


@pytest.mark.parametrize("body", [
    "o\n07\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",  # leading zero
    "o\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw=\n",  # 29-byte root
    "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",  # unpadded
    "\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",  # empty origin
    "o\n1\n",
    "o\n18446744073709551616\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",  # 2**64
])
def test_malformed_checkpoint_bodies_are_refused(body: str) -> None:
    with pytest.raises(InvalidNote):
        parse_checkpoint(body)


@pytest.mark.parametrize("vkey", [
    "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong key ID
    "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong name
    "example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # type 0x02, not Ed25519
    "example.com/foo+530d903a",
    "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
])
def test_malformed_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(InvalidNote):
        Verifier.from_vkey(vkey)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_parsed_or_refused_never_crashes(text: str) -> None:
    verifier = _signer().verifier()
    with contextlib.suppress(InvalidNote):
        open_note(text, [verifier])
    with contextlib.suppress(InvalidNote):
        parse_checkpoint(text)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32))
def test_any_tree_head_round_trips(size: int, root: bytes) -> None:
    signer = _signer()
    signed = sign_checkpoint(Checkpoint(ORIGIN, size, root), signer)
    assert verify_checkpoint(signed.note, signer.verifier(), ORIGIN) == Checkpoint(ORIGIN, size, root)


def test_a_vkey_whose_base64_holds_a_plus_parses() -> None:
    """base64 has "+" in its alphabet: splitting the vkey on every "+" refused one key in ~3."""
    for seed in range(1, 40):
        verifier = _signer(seed=seed).verifier()
        assert Verifier.from_vkey(verifier.vkey()) == verifier
