"""The consent ledger's SQL: ``records`` (records, events, salts, withdrawal notices) and ``log`` (the Merkle log)."""
