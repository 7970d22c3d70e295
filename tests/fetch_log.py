"""Every URL a node's fetcher is asked for while a test runs: the network a test must see used, or not."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def fetches(fetcher: Any) -> Iterator[list[str]]:
    """The URLs ``fetcher.get`` is asked for inside the block (each still fetched as before)."""
    asked: list[str] = []
    real_get = fetcher.get

    async def recorded(url: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(url)
        return await real_get(url, *args, **kwargs)

    fetcher.get = recorded
    try:
        yield asked
    finally:
        fetcher.get = real_get
