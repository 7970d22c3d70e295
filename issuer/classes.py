"""Class batches: one CSV of trainees → one offer per good row, a clear error per bad row. Pure.

The CSV's first row names columns by claim path (``given_name``, ``skill.label``); what is
the same for the whole class (the skill, the date, the organisation) comes once as
``defaults``. A column ``language`` (unless the type has such a claim) is the trainee's
language for the printed instructions; a column ``reference`` (likewise) is staff's own
reference for that trainee's offer (a name, a case number: sealed at rest, never printed).
Cells are typed by the credential type's JSON Schema (integers, numbers, yes/no, lists
separated by ``;``); an empty cell is no value.

Each row is checked against the type on its own. Errors name the row, the column and the
rule, never the value (a trainee's name must not end up in a log or a screenshot): in English
(``error``, for the API) and as ``Problem``s, which the console words in its reader's language
(helper-90: a French trainer read "Ligne 5 : SkillCertificate: given_name: required").
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from core import esco, i18n
from core.credtypes import CredentialType, schema_at
from core.errors import AmanaError, InvalidClaims, InvalidInput, Problem
from core.sdjwt.paths import ClaimPath, format_path, parse_path
from issuer import forms
from issuer.offers import REFERENCE_MAX

MAX_ROWS = 500
MAX_BYTES = 1024 * 1024
LANGUAGE_COLUMN = "language"
REFERENCE_COLUMN = "reference"
SPECIAL_COLUMNS = (LANGUAGE_COLUMN, REFERENCE_COLUMN)
_TRUE, _FALSE = {"yes", "true", "1", "y", "oui", "так"}, {"no", "false", "0", "n", "non", "ні"}


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # as a spreadsheet shows it: the header is row 1
    claims: dict[str, Any] | None
    language: str
    error: str | None = None
    reference: str | None = None
    problems: tuple[Problem, ...] = ()


def refused(said: str, where: str, rule: str, bound: object = "") -> InvalidInput:
    """``said`` in English, with its one ``Problem`` for a page to word (``console.rule.<rule>``)."""
    return InvalidInput(said, problems=(Problem(where, rule, str(bound), said),))


def parse(text: str, ctype: CredentialType, defaults: Mapping[str, Any], default_language: str) -> list[Row]:
    if len(text.encode()) > MAX_BYTES:
        raise refused(f"the CSV file is larger than {MAX_BYTES // 1024} KiB", "", "file_too_big", MAX_BYTES // 1024)
    # newline="": the csv module reads the line ends itself, as it asks (a spreadsheet's CRLF,
    # Unix's LF, old Macs' bare CR), and keeps a line break inside a quoted cell as it is.
    text = text.removeprefix("\ufeff")  # Excel writes a BOM
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        try:
            header = next(reader)
        except StopIteration:
            raise refused("the CSV file is empty", "", "file_empty") from None
        columns = _columns(header, ctype)
        rows: list[Row] = []
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise refused(f"at most {MAX_ROWS} trainees per class", "", "too_many_rows", MAX_ROWS)
            rows.append(_row(number, cells, columns, ctype, defaults, default_language))
    except csv.Error as exc:  # a cell past the csv module's size limit, a NUL: the whole file is refused
        raise refused(f"the CSV file cannot be read at line {reader.line_num}: {exc}", "", "file_unreadable",
                      reader.line_num) from None
    if not rows:
        raise refused("the CSV file has no trainees", "", "no_rows")
    return rows


def _delimiter(text: str) -> str:
    """The separator the header row uses: a comma, or the semicolon a spreadsheet set to French,
    German and most European languages writes (helper-90: such a file was refused whole), or a
    tab. Judged on the header alone (claim paths and column names hold none of the three), the
    most frequent of them; a single column is a comma's file."""
    header = re.split(r"[\r\n]", text, maxsplit=1)[0]  # CRLF, LF or an old Mac's bare CR (helper-91)
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


# Spreadsheets set to these languages write (and read) ";" between cells, where a decimal comma is usual.
_SEMICOLON_LANGUAGES = frozenset({"fr", "uk"})


def template(ctype: CredentialType, lang: str) -> str:
    """An empty class file for ``ctype``: its header row only, as the reader's spreadsheet opens it
    (a BOM so that it reads UTF-8; ";" where a French or Ukrainian spreadsheet expects it)."""
    separator = ";" if lang in _SEMICOLON_LANGUAGES else ","
    return "\ufeff" + separator.join(columns_of(ctype)) + "\r\n"


def file_stem(filename: str) -> str:
    """A class's CSV file name without its folders and extension: the offers' reference when staff gave
    none, so that each row's offer is told from the others ("class-march #3": helper-90 found eight "—";
    "#", not "row", reads in every language: helper-92). No control or format characters: a
    right-to-left override would show the reference reversed (helper-91)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    shown = "".join(c for c in name.rsplit(".", 1)[0] if unicodedata.category(c) not in ("Cc", "Cf"))
    return " ".join(shown.split())


def columns_of(ctype: CredentialType) -> list[str]:
    """The columns a class's CSV may have for ``ctype``: its claims' paths, then the special ones."""
    return [*(f.name for f in forms.fields(ctype, "en")),
            *(name for name in SPECIAL_COLUMNS if not schema_at(ctype.schema, (name,)))]


def _columns(header: list[str], ctype: CredentialType) -> list[ClaimPath | str]:
    """The header's columns. A header cell that is not a column is named by its place (B, AA), never
    by what it says: a file saved without its header has a trainee's name there (helper-93). A first
    row that names no column at all is said to be missing its header."""
    columns: list[ClaimPath | str] = []
    for index, name in enumerate(header):
        column = _column(name, ctype)
        if column is None:
            known = ", ".join(columns_of(ctype))
            if not any(_column(other, ctype) is not None for other in header):
                raise refused("the CSV file's first row names no column: it must name them", "", "no_header", known)
            letter = spreadsheet_column(index)
            raise refused(f"column {letter} of the header is not a claim of {ctype.name}; its columns: {known}",
                          letter, "unknown_column", known)
        columns.append(column)
    return columns


def spreadsheet_column(index: int) -> str:
    """A column's name as spreadsheets show it (in every language): 0 is A, 25 Z, 26 AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column(name: str, ctype: CredentialType) -> ClaimPath | str | None:
    """A claim path, or the name of a special column (language, reference) when it is one; else None.
    A name typed by hand (``Given_Name``, ``given name``, ``given-name``: helper-94) is the column it
    spells, whatever its case and separators."""
    name = name.strip()
    if name in SPECIAL_COLUMNS and not schema_at(ctype.schema, (name,)):
        return name
    try:
        path = parse_path(name)
    except AmanaError:
        path = None
    if path is not None and schema_at(ctype.schema, path):
        return path
    loose = _loose(name)
    known = next((column for column in columns_of(ctype) if _loose(column) == loose), None)
    return _column(known, ctype) if known is not None and known != name else None


def _loose(name: str) -> str:
    return re.sub(r"[\s_-]+", "_", name.strip().casefold())


def _row(number: int, cells: list[str], columns: list[ClaimPath | str], ctype: CredentialType,
         defaults: Mapping[str, Any], default_language: str) -> Row:
    if len(cells) > len(columns):
        said = "more cells than columns"
        return Row(number, None, default_language, said, problems=(Problem("", "more_cells", said=said),))
    language, reference = default_language, None
    pairs = []
    for path, cell in zip(columns, cells, strict=False):
        if path == LANGUAGE_COLUMN:
            language = i18n.pick(cell.strip()) if cell.strip() else language
        elif path == REFERENCE_COLUMN:
            reference = " ".join(cell.split()) or None
        elif not isinstance(path, str):
            pairs.append((path, cell))
    if reference is not None and len(reference) > REFERENCE_MAX:
        said = f"reference is longer than {REFERENCE_MAX} characters"
        return Row(number, None, language, said,
                   problems=(Problem(REFERENCE_COLUMN, "at_most_chars", str(REFERENCE_MAX), said),))
    try:
        claims = claims_from_cells(ctype, pairs, defaults, default_language)
    except InvalidInput as exc:  # the row's own fault; the node's (ESCO index missing: 503) is the whole file's
        return Row(number, None, language, exc.detail, problems=exc.problems)
    return Row(number, claims, language, reference=reference)


def partial_claims(ctype: CredentialType, cells: list[tuple[ClaimPath, str]], lang: str = "en") -> dict[str, Any]:
    """Typed values without the type check: class-wide defaults, completed by each row."""
    claims: dict[str, Any] = {}
    for path, cell in cells:
        if cell.strip():
            _put(claims, path, _typed(cell.strip(), ctype, path, lang))
    return claims


def claims_from_cells(
    ctype: CredentialType, cells: list[tuple[ClaimPath, str]], defaults: Mapping[str, Any], lang: str = "en"
) -> dict[str, Any]:
    """Text cells (a CSV row, a console form) → typed claims, checked against the type; ``lang`` is the
    reader's, whose spreadsheet wrote the file (its dates, its words for a type's codes: ``_typed``).

    Every problem of the row is told at once: a cell that is not of its type (a word where a
    number goes) is left out, the type's rules checked on the rest, and both said together,
    except the rules of the cells left out (a required cell not typed is not also "missing")."""
    claims: dict[str, Any] = _deep_copy(defaults)
    mistyped: list[Problem] = []
    for path, cell in cells:
        value = cell.strip()
        if value:
            try:
                _put(claims, path, _typed(value, ctype, path, lang))
            except InvalidInput as exc:
                if not exc.problems:
                    raise
                mistyped.extend(exc.problems)
    try:
        ctype.check_issuance(claims)
        esco.check_claims(claims)
    except InvalidInput as exc:
        if not mistyped:
            raise
        mistyped.extend(p for p in exc.problems if p.where not in {q.where for q in mistyped})
    if mistyped:
        raise InvalidClaims(f"{ctype.name}: " + "; ".join(p.said for p in mistyped), problems=tuple(mistyped))
    return claims


def _typed(value: str, ctype: CredentialType, path: ClaimPath, lang: str) -> Any:
    """A cell as its claim's JSON type. What a spreadsheet in the reader's language writes is read as
    such (helper-94: French Excel saves a date typed 2026-10-30 as 30/10/2026, Ukrainian as 30.10.2026,
    and a trainer writes "Épreuve pratique" for practical_test): a day-first date, except "/" for
    English (10/30/2026 is American), and a code's words in the reader's language or English."""
    schema = schema_at(ctype.schema, path)
    kind = schema.get("type")
    where = format_path(path)
    if schema.get("format") == "date" and (day := _day_first(value, lang)) is not None:
        return day
    if value not in schema.get("enum", (value,)):
        for code in schema["enum"]:
            words = {ctype.value_text(path, code, lang) or "", ctype.value_text(path, code, "en") or ""}
            if value.casefold() in {w.casefold() for w in words if w}:
                return code
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        raise refused(f"{where} must be a number", where, "integer" if kind == "integer" else "number") from None
    if kind == "boolean":
        lowered = value.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise refused(f"{where} must be yes or no", where, "boolean")
    if kind == "array":
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


_DAY_FIRST = re.compile(r"(\d{1,2})([./])(\d{1,2})\2(\d{4})")


def _day_first(value: str, lang: str) -> str | None:
    """``30/10/2026`` or ``30.10.2026`` as ``2026-10-30``; None for anything else (the schema says it)."""
    found = _DAY_FIRST.fullmatch(value)
    if found is None or (found[2] == "/" and lang.split("-")[0] == "en"):
        return None
    try:
        return date(int(found[4]), int(found[3]), int(found[1])).isoformat()
    except ValueError:
        return None


def _put(claims: dict[str, Any], path: ClaimPath, value: Any) -> None:
    node = claims
    for element in path[:-1]:
        if not isinstance(element, str):
            raise InvalidInput("CSV columns address object members only")
        node = node.setdefault(element, {})
        if not isinstance(node, dict):
            raise InvalidInput(f"{format_path(path)} lies inside a value that is not an object")
    last = path[-1]
    if not isinstance(last, str):
        raise InvalidInput("CSV columns address object members only")
    node[last] = value


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
