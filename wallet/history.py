""""Who saw what": one record per presentation and per refusal, kept inside the vault (issue 12, item 6).

Field names follow ISO/IEC TS 27560 (consent record information structure) where they fit,
so the consent ledger can add its receipts and proofs to the same records later:
``record_id``, ``timestamp``, ``controller`` (who asked: its client id and registered name),
``purposes`` and ``legal_basis`` (as registered, DPV terms), ``data_categories`` (the claim
*names* asked for, never their values), ``event`` (``given`` or ``declined``). Ours beside them:
``copy_ids`` (which held copies were shown: one verifier, one copy) and ``credential_types``.
``receipt`` is empty until the consent ledger fills it.

A record never holds a claim value: :meth:`HistoryRecord.from_dict` refuses a category that is
not a name (a dict, a list, a number), so a value cannot slip in through a stored vault either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from core.errors import InvalidInput

Event = Literal["given", "declined"]
EVENTS: frozenset[str] = frozenset({"given", "declined"})


def iso(now: int) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Controller:
    id: str
    name: str | None = None  # the registered name; None: not on the trust list


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    record_id: str
    timestamp: str
    event: Event
    controller: Controller
    purposes: tuple[str, ...] = ()
    legal_basis: str | None = None
    data_categories: tuple[str, ...] = ()
    credential_types: tuple[str, ...] = ()
    copy_ids: tuple[str, ...] = ()
    receipt: dict[str, Any] | None = field(default=None)

    @classmethod
    def new(cls, event: Event, controller: Controller, now: int, **rest: Any) -> HistoryRecord:
        return cls(str(uuid.uuid4()), iso(now), event, controller, **rest)

    def to_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "timestamp": self.timestamp, "event": self.event,
                "controller": {"id": self.controller.id, "name": self.controller.name},
                "purposes": list(self.purposes), "legal_basis": self.legal_basis,
                "data_categories": list(self.data_categories), "credential_types": list(self.credential_types),
                "copy_ids": list(self.copy_ids), "receipt": self.receipt}

    @classmethod
    def from_dict(cls, data: Any) -> HistoryRecord:
        try:
            controller = data["controller"]
            record = cls(str(data["record_id"]), str(data["timestamp"]), data["event"],
                         Controller(str(controller["id"]), _optional_str(controller.get("name"))),
                         _names(data.get("purposes", [])), _optional_str(data.get("legal_basis")),
                         _names(data.get("data_categories", [])), _names(data.get("credential_types", [])),
                         _names(data.get("copy_ids", [])), data.get("receipt"))
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"a history record is malformed ({type(exc).__name__})") from None
        if record.event not in EVENTS or not (record.receipt is None or isinstance(record.receipt, dict)):
            raise InvalidInput("a history record is malformed")
        return record


def _optional_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _names(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise TypeError("names are a list of strings")
    return tuple(values)
