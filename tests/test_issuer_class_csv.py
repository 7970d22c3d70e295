"""A class's CSV as a spreadsheet writes it (issuer.classes): the separator is the header's, a
comma, a semicolon (a spreadsheet set to French or German) or a tab, and a cell holding any of them,
quoted, comes back whole."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from issuer.classes import _delimiter

HEADERS = st.lists(st.sampled_from(["given_name", "family_name", "language", "reference", "skill.uri"]),
                   min_size=2, max_size=5)
CELLS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from([",", ";", "\t", '"']),
                max_size=12)


@given(HEADERS, st.lists(st.lists(CELLS, min_size=1, max_size=5), max_size=4), st.sampled_from([",", ";", "\t"]),
       st.sampled_from(["\r\n", "\n", "\r"]))
def test_the_separator_is_the_header_s_and_every_cell_comes_back(header: list[str], rows: list[list[str]],
                                                                  separator: str, line_end: str) -> None:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=separator, lineterminator=line_end).writerows([header, *rows])
    text = out.getvalue()
    assert _delimiter(text) == separator
    assert list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))) == [header, *rows]


def test_a_single_column_is_a_comma_s_file_and_only_the_header_counts() -> None:
    assert _delimiter("given_name\nAmina; Rahimi\n") == ","
    assert _delimiter("given_name,family_name\rAmina;A;B;C,Rahimi\r") == ","  # an old Mac's line ends
