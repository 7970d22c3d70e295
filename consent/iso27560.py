"""A consent record as ISO/IEC TS 27560 JSON, with W3C DPV terms for its values: what the holder
downloads (GDPR Art. 15 access and Art. 20 portability) and what a receipt's record shows. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from consent.records import DPV, GDPR, Event, Record

# DPV consent-status terms for the export; a non-consent record's "given" is a disclosure.
DPV_STATUS: Mapping[str, str] = {
    "given": DPV + "ConsentGiven", "withdrawn": DPV + "ConsentWithdrawn", "expired": DPV + "ConsentExpired",
    "erased": DPV + "Erase", "deletion_confirmed": DPV + "Erase", "deletion_unconfirmed": DPV + "ConsentWithdrawn",
}


def iso(now: int) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")


def to_27560(record: Record, events: Sequence[Event]) -> dict[str, Any]:
    """The ISO/IEC TS 27560 record as JSON, DPV terms for its values (access and portability export)."""
    return {
        "@context": {"dpv": DPV, "eu-gdpr": GDPR},
        "schema": "ISO/IEC TS 27560:2023",
        "record_id": record.record_id,
        "pii_principal_id": record.subject_id,
        "pii_principal_key": dict(record.holder_key),
        "pii_controllers": [{"id": record.controller.id, "name": record.controller.name}],
        "purposes": [{"purpose": p, "legal_basis": record.legal_basis, "legal_basis_article": record.article6,
                      "art9_condition": record.art9_condition} for p in record.purposes],
        "pii_categories": list(record.data_categories),
        "special_categories": list(record.special_categories),
        "credential_types": list(record.credential_types),
        "recipients": list(record.recipients),
        "storage": {"retention_s": record.retention_s, "until": iso(record.created_at + record.retention_s)},
        "jurisdiction": record.jurisdiction,
        "notice": {"hash_algorithm": "sha-256", "hash": record.notice.sha256, "language": record.notice.language},
        "events": [{"event": e.kind, "status": DPV_STATUS[e.kind], "time": iso(e.at), "actor": e.actor}
                   for e in events],
    }
