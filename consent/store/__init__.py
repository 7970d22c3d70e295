"""The consent ledger's SQL: ``records`` (records, events, salts, notifications) and ``log`` (the Merkle log)."""
