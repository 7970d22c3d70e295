"""GDPR Art. 30 records of processing activities, generated — pure: from the node's configuration,
the trust list (what this node's verifier is registered to ask, why and on what basis), the
special-category registry and the ledger's counts. Nothing in it names a holder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consent.iso27560 import iso
from consent.records import ART6, RecordRefused, SpecialCategories
from core.sdjwt.paths import format_path
from core.trust import TrustList
from core.trust.model import as_path

DEFAULT_RETENTION_S = 365 * 86400  # the verifier's records in the ledger (verifier/consent_records.py)


def art30(trust: TrustList, controller_id: str, controller_name: str, special: SpecialCategories,
          live_records: Mapping[str, int], now: int, retention_s: int = DEFAULT_RETENTION_S) -> dict[str, Any]:
    """Art. 30(1)(a)–(g) for the processing this node does as a verifier, one activity per
    registered purpose; a controller the trust list does not register has no lawful activity."""
    registered = trust.verifier(controller_id)
    activities = []
    for registration in registered.registrations if registered is not None else []:
        categories = {c.vct: sorted(format_path(as_path(p)) for p in c.claims) for c in registration.credentials}
        sensitive: list[str] = []
        for vct, names in categories.items():
            try:
                sensitive += special.of(vct, names)
            except RecordRefused:  # a type nobody classified: the report says so
                sensitive.append(f"unclassified: {vct}")
        activities.append({
            "purpose": registration.purpose,
            "legal_basis": registration.legal_basis,
            "legal_basis_article": f"GDPR Art. 6(1)({ART6[registration.legal_basis]})"
            if registration.legal_basis in ART6 else "not an Art. 6(1) basis: fix the registration",
            "categories_of_data_subjects": ["holders of credentials who present them to this verifier"],
            "categories_of_personal_data": categories,
            "special_categories": sorted(set(sensitive)),
            "recipients": [controller_id],
            "transfers_to_third_countries": [],
            "retention": {"attribute_values": "none: checked, shown once to the desk, never stored",
                          "consent_records_s": retention_s},
            "security_measures": ["claim values never stored (verifier/tables.py)",
                                  "check results sealed to the desk's key, deleted on first read",
                                  "consent ledger holds names and salted commitments only; erasure by "
                                  "crypto-shredding; tamper-evident log with signed checkpoints"],
        })
    return {"report": "GDPR Art. 30 records of processing activities", "generated_at": iso(now),
            "controller": {"id": controller_id, "name": controller_name,
                           "registered_on_trust_list": registered is not None,
                           "trust_list": {"iss": trust.iss, "seq": trust.seq}},
            "activities": activities,
            "consent_records_held": dict(live_records)}
