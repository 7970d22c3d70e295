"""A token endpoint's refusal read for what the holder can do about it (specs/formats/token-errors.md).

OpenID4VCI 1.0 answers a wrong PIN (Transaction Code) and a used or expired offer alike,
``invalid_grant`` (section 6.3), and a holder told "maybe the PIN is wrong, or the offer has
ended" does not know whether to type again or walk back to the office. Two answers say more:

- the next version's ``invalid_tx_code`` (openid/OpenID4VCI pull request 686): the PIN was not
  accepted (which an issuer may also say once the tries are used up: issue 734);
- Amana's issuer's ``tx_code_tries_left`` beside ``invalid_grant``: the PIN is wrong, and this
  many more tries are left (0: the offer is now locked, a new one is needed).

Anything else stays the plain ``IssuanceFailed``. And a PIN of another length than the offer
says (section 4.1.1's ``length``) is not sent at all (``PinLength``): it would cost a try. Pure.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput
from wallet.credential_request import IssuanceFailed

TRIES_LEFT = "tx_code_tries_left"
MOST_TRIES_SHOWN = 100  # a count beyond it is no count an issuer means (helper-81: 4,300 digits were shown)


class WrongPin(IssuanceFailed):
    """The issuer says the PIN is wrong, and the offer still takes another: type it again. Without a
    count (``invalid_tx_code``, which an issuer may also send once the tries are used up: openid/
    OpenID4VCI issue 734), the sentence says to ask the organisation if it goes on."""

    code = "wrong_pin"
    title = "The PIN is wrong"

    def __init__(self, detail: str, tries_left: int | None = None) -> None:
        super().__init__(detail)
        self.tries_left = tries_left

    def holder_text(self) -> tuple[str, dict[str, object]]:
        """The sentence's key and values (wallet.page_kit.error_text): with the count when known."""
        if self.tries_left is None:
            return "wallet.err.wrong_pin", {}
        return "wallet.err.wrong_pin_tries_left", {"n": self.tries_left}


class PinTriesUsedUp(IssuanceFailed):
    """That was the last wrong PIN the offer took: it is locked, and staff make a new one."""

    code = "pin_tries_used_up"
    title = "The PIN was wrong too many times: the offer no longer works"


def refusal(step: str, body: dict[str, Any] | None, status: int) -> IssuanceFailed:
    """What an issuer's non-200 answer to ``step`` says, as the holder should hear it."""
    error = body.get("error") if body is not None else None
    said = f"{step}: {error if isinstance(error, str) else status}"
    if step != "token" or body is None:
        return IssuanceFailed(said)
    left = body.get(TRIES_LEFT)
    if error == "invalid_grant" and type(left) is int and 0 <= left <= MOST_TRIES_SHOWN:
        return (WrongPin(f"{said} (the PIN is wrong; {left} tries left)", left) if left
                else PinTriesUsedUp(f"{said} (the PIN was wrong too many times; the offer is locked)"))
    if error == "invalid_tx_code":
        return WrongPin(f"{said} (the PIN is wrong)")
    return IssuanceFailed(said)


class PinLength(InvalidInput):
    """The PIN typed has another number of digits than the offer says: not sent, no try spent."""

    code = "pin_length"
    title = "The PIN has another number of digits than the offer says"

    def __init__(self, length: int) -> None:
        super().__init__(f"the PIN has {length} digits")
        self.length = length

    def holder_text(self) -> tuple[str, dict[str, object]]:
        return "wallet.err.pin_length", {"n": self.length}


class PinMissing(PinLength):
    """No PIN typed where the offer asks for one: said as such (helper-89: "the PIN has 6 digits" for
    an empty field), not sent, no try spent."""

    code = "pin_missing"
    title = "The offer asks for a PIN and none was typed"

    def holder_text(self) -> tuple[str, dict[str, object]]:
        return "wallet.err.pin_missing", {}


def check_length(typed: str, tx_code: Any) -> str:
    """``typed`` (numeric, already ASCII digits) when it has the length the offer names, if it names
    one (a whole number from 1 to 64; anything else is no length): ``PinLength`` otherwise, and
    ``PinMissing`` for nothing typed where the offer asks for a PIN (``tx_code``, section 4.1.1)."""
    length = tx_code.get("length") if isinstance(tx_code, dict) else None
    if not typed and isinstance(tx_code, dict):
        raise PinMissing(length if type(length) is int else 0)
    if type(length) is int and 1 <= length <= 64 and len(typed) != length:
        raise PinLength(length)
    return typed
