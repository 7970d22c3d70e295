"""A process that appends to the consent log until it is killed (tests/test_consent_crash.py).

``python -m tests.consent_appender <database url> <seed>``: each transaction appends one to
three random commitments, signs a checkpoint every third time, commits, and only then prints
``<index> <commitment hex>`` per leaf: a printed line is an acknowledged append.
"""

from __future__ import annotations

import asyncio
import random
import sys

from consent import log
from core import db
from core.sealing import NodeKey

NODE = NodeKey(b"\x09" * 32)
LOG = log.ConsentLog(NODE, "crash.example/consent")


async def main(url: str, seed: int) -> None:
    rng = random.Random(seed)
    engine = db.make_engine(url)
    sessions = db.sessions(engine)
    n = 0
    while True:
        commitments = [rng.randbytes(32) for _ in range(rng.randint(1, 3))]
        async with sessions.begin() as s:
            indices = await LOG.append(s, commitments, n)
            if n % 3 == 0:
                await LOG.checkpoint(s, n)
        sys.stdout.write("".join(f"{i} {c.hex()}\n" for i, c in zip(indices, commitments, strict=True)))
        sys.stdout.flush()
        n += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
