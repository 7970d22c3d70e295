"""One process hosting every Amana service (``amana serve``), plus the trust-list publication point."""
