"""Amana core: shared, pure building blocks (no routes, no service SQL)."""
