"""The consent ledger: every disclosure recorded as an ISO/IEC TS 27560 record with a signed receipt,
its salted commitment in an RFC 9162 Merkle log (C2SP checkpoints), withdrawable, exportable and
erasable, holding no personal data itself."""
