"""The consent ledger's SQL: ``records`` (consent-records) and ``log`` (the Merkle log)."""
