"""Credential types as data: ``specs/credentials/<Name>/``.

Each folder holds
- ``type-metadata.json`` — SD-JWT VC Type Metadata (sd-jwt-vc section "Type Metadata"):
  ``vct``, ``display`` per locale, and ``claims`` with ``path``, ``display`` labels,
  ``sd`` (``always`` / ``never`` / ``allowed``) and ``mandatory``;
- ``schema.json`` — a JSON Schema (2020-12) for the credential's own claims (not the
  registered ones such as ``iss`` or ``cnf``, which the SD-JWT VC layer adds);
- ``example.json`` — claims that satisfy the schema, for demos and tests.

Type metadata may name a ``pictogram`` for the type and for each claim (an extension member:
a Tabler icon name, drawn beside the words by ``core.pictograms``), so a new type brings its own.
A claim whose schema is an ``enum`` of codes may give each code words per locale in
``value_display`` (another extension member, shaped like ``display``: ``[{"value": code,
"display": [{"locale", "label"}]}]``; the spec lets Type Metadata carry additional properties):
a page shows "Practical test", never ``practical_test``; a ``"format": "date"`` claim is shown
as the reader reads a date (``value_text``).

Adding a type is adding a folder. Claim paths in type metadata use names and ``null``
only: positional paths would have to count undisclosed array elements as issued
(sd-jwt-vc "Claim Metadata"), which a verifier cannot do, so we refuse them at load time.

Schemas are checked with jsonschema-rs (Draft 2020-12, formats asserted): a verifier
checks every presentation against its type, and there it costs about 1 us where the
pure-Python ``jsonschema`` took 65 us, a quarter of a whole SD-JWT VC verification.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema_rs

from core import local_forms
from core.encoding import json_loads_strict
from core.errors import AmanaError, ClaimsInvalidForType, InvalidClaims, InvalidInput, Problem, UnknownCredentialType
from core.sdjwt.paths import ClaimPath, format_path, select, validate

# Registered claims the SD-JWT VC layer sets or reads; not part of a type's own schema.
REGISTERED_CLAIMS = frozenset(
    {"iss", "sub", "iat", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status", "jti"}
)
REQUIRED_LOCALES = ("en", "ar", "fa", "fa_AF", "ps", "ti", "so", "uk", "fr")  # the node's nine (core.i18n)
# A pictogram is named by its Tabler Icons name (core/pictograms.py), which becomes a file name.
PICTOGRAM_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class ClaimRule:
    path: ClaimPath
    sd: str  # always | never | allowed
    mandatory: bool
    labels: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # code -> locale -> words


@dataclass(frozen=True)
class CredentialType:
    name: str
    vct: str
    metadata: Mapping[str, Any]
    schema: Mapping[str, Any]
    example: Mapping[str, Any]
    rules: tuple[ClaimRule, ...]

    @cached_property
    def _issuance_validator(self) -> jsonschema_rs.Validator:
        return _validator(self.schema)

    @cached_property
    def _presentation_validator(self) -> jsonschema_rs.Validator:
        return _validator(_without_required(self.schema))

    @property
    def disclosable(self) -> list[ClaimPath]:
        """Paths the issuer makes selectively disclosable (``sd: always``)."""
        return [r.path for r in self.rules if r.sd == "always"]

    def display_name(self, locale: str) -> str:
        return str(self.names().get(locale) or self.names().get("en") or self.name)

    def names(self) -> dict[str, str]:
        """The type's name by the node's language code (``fa_AF``; the metadata says ``fa-AF``)."""
        return {language_code(d["locale"]): d["name"] for d in self.metadata.get("display", [])}

    def label(self, path: ClaimPath, locale: str) -> str:
        for rule in self.rules:
            if rule.path == path:
                return rule.labels.get(locale) or rule.labels.get("en") or format_path(path)
        return format_path(path)

    def value_text(self, path: ClaimPath, value: Any, locale: str) -> str | None:
        """A claim's value in the reader's words where the type gives them: a code's words
        (``value_display``), a date as ``core.local_forms`` writes it; else None."""
        rule = next((r for r in self.rules if r.path == path), None)
        if rule is not None and isinstance(value, str) and value in rule.values:
            words = rule.values[value]
            return words.get(locale) or words.get("en") or value
        if isinstance(value, str) and schema_at(self.schema, path).get("format") == "date":
            try:
                day = date.fromisoformat(value)
            except ValueError:
                return None
            return local_forms.local_date(day, locale)
        return None

    def check_issuance(self, claims: Mapping[str, Any]) -> None:
        """All of the type's claims, before issuing: the full schema applies."""
        reserved = REGISTERED_CLAIMS & set(claims)
        if reserved:
            raise InvalidClaims(f"claims {sorted(reserved)} are set by the issuer, not given")
        _validate(self._issuance_validator, dict(claims), InvalidClaims, self.name)

    def check_presented(self, claims: Mapping[str, Any], disclosed: frozenset[ClaimPath]) -> None:
        """A verified presentation: whatever is present must fit; ``sd`` rules hold.

        ``required`` is dropped from the schema since the holder may withhold claims
        (a verifier "MUST NOT treat absence of a selectively disclosable claim ... as
        evidence" of a missing mandatory claim); ``mandatory`` plaintext claims must be there.
        """
        own = {k: v for k, v in claims.items() if k not in REGISTERED_CLAIMS}
        _validate(self._presentation_validator, own, ClaimsInvalidForType, self.name)
        for rule in self.rules:
            try:
                selected = select(claims, rule.path)
            except InvalidInput as exc:
                raise ClaimsInvalidForType(exc.detail) from exc
            for concrete, _ in selected:
                if rule.sd == "always" and concrete not in disclosed:
                    raise ClaimsInvalidForType(f"{format_path(concrete)} must be selectively disclosable")
                if rule.sd == "never" and concrete in disclosed:
                    raise ClaimsInvalidForType(f"{format_path(concrete)} must not be selectively disclosable")
            if rule.mandatory and rule.sd == "never" and isinstance(rule.path[-1], str):
                # Missing is provable only where the parent object is visible: the holder
                # may have withheld the parent itself.
                parents = select(claims, rule.path[:-1]) if len(rule.path) > 1 else [((), claims)]
                if any(isinstance(p, dict) and rule.path[-1] not in p for _, p in parents):
                    raise ClaimsInvalidForType(f"mandatory claim {format_path(rule.path)} is missing")


class TypeRegistry(Mapping[str, CredentialType]):
    """Credential types by ``vct``; also looked up by folder name with ``by_name``."""

    def __init__(self, types: list[CredentialType]) -> None:
        self._by_vct = {t.vct: t for t in types}
        self._by_name = {t.name: t for t in types}

    def __getitem__(self, vct: str) -> CredentialType:
        return self._by_vct[vct]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_vct)

    def __len__(self) -> int:
        return len(self._by_vct)

    def require(self, vct: object) -> CredentialType:
        if not isinstance(vct, str) or vct not in self._by_vct:
            raise UnknownCredentialType("the credential type is not one this service knows")
        return self._by_vct[vct]

    def by_name(self, name: str) -> CredentialType:
        found = self._by_name.get(name) or self._by_vct.get(name)
        if found is None:
            raise UnknownCredentialType(f"no credential type named {name!r}; known: {sorted(self._by_name)}")
        return found


def language_code(tag: str) -> str:
    """The node's code for a metadata ``locale``: type metadata speaks BCP 47 (``fa-AF``), the
    node's catalogues and pages use ``fa_AF``; a label must be found by either."""
    return tag.replace("-", "_")


def load_registry(specs_dir: Path) -> TypeRegistry:
    root = specs_dir / "credentials"
    return TypeRegistry([load_type(d) for d in sorted(root.iterdir()) if (d / "type-metadata.json").exists()])


def load_type(folder: Path) -> CredentialType:
    def read(name: str) -> Any:
        return json_loads_strict((folder / name).read_bytes(), f"{folder.name}/{name}")

    metadata, schema, example = read("type-metadata.json"), read("schema.json"), read("example.json")
    try:
        jsonschema_rs.meta.validate(schema)
    except jsonschema_rs.ValidationError as exc:
        raise InvalidInput(f"{folder.name}/schema.json is not a valid JSON Schema") from exc
    vct = metadata.get("vct")
    if not isinstance(vct, str) or not vct:
        raise InvalidInput(f"{folder.name}: type metadata needs a vct")
    for named in [metadata, *metadata.get("claims", [])]:
        sign = named.get("pictogram", "")
        if "pictogram" in named and not (isinstance(sign, str) and PICTOGRAM_NAME.match(sign)):
            raise InvalidInput(f"{folder.name}: a pictogram is a Tabler icon name (lower case, digits, hyphens)")
    rules = []
    for entry in metadata.get("claims", []):
        path = validate(entry.get("path"))
        if any(isinstance(e, int) for e in path):
            raise InvalidInput(f"{folder.name}: positional claim paths are not supported")
        sd = entry.get("sd", "allowed")
        if sd not in ("always", "never", "allowed"):
            raise InvalidInput(f"{folder.name}: sd must be always, never or allowed")
        labels = {language_code(d["locale"]): d["label"] for d in entry.get("display", [])}
        rules.append(ClaimRule(path, sd, bool(entry.get("mandatory", False)), labels,
                               _value_words(folder.name, entry, schema_at(schema, path))))
    ctype = CredentialType(folder.name, vct, metadata, schema, example, tuple(rules))
    ctype.check_issuance(example)
    return ctype


def _value_words(type_name: str, entry: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``value_display``: words for codes the claim's schema lists (``enum``), every code once."""
    words: dict[str, dict[str, str]] = {}
    for item in entry.get("value_display", []):
        code = item.get("value")
        if code not in schema.get("enum", ()) or code in words:
            raise InvalidInput(f"{type_name}: value_display names {code!r}, not one code of the claim's enum")
        words[code] = {language_code(d["locale"]): d["label"] for d in item.get("display", [])}
    return words


def schema_at(schema: Mapping[str, Any], path: ClaimPath) -> Mapping[str, Any]:
    """The part of a type's JSON Schema that describes the claim at ``path`` ({} where none does)."""
    node: Mapping[str, Any] = schema
    for element in path:
        node = node.get("properties", {}).get(element, {}) if isinstance(element, str) else node.get("items", {})
    return node


def _validator(schema: Mapping[str, Any]) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(dict(schema), validate_formats=True)


def _validate(validator: jsonschema_rs.Validator, claims: dict[str, Any], error: type[AmanaError],
              type_name: str) -> None:
    if validator.is_valid(claims):
        return
    errors = sorted(validator.iter_errors(claims), key=lambda e: [str(p) for p in e.instance_path])
    # Name where and which rule failed, never the value (it may be personal data).
    problems = tuple(dict.fromkeys(_problem(e) for e in errors[:8]))
    raise error(f"{type_name}: " + "; ".join(p.said for p in problems), problems=problems)


_KIND = jsonschema_rs.ValidationErrorKind
_JSON_TYPES = {"object": "an object", "array": "an array", "string": "text", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}
_FORMATS = {"date": "a date, YYYY-MM-DD", "date-time": "a date and time, YYYY-MM-DDThh:mm:ssZ", "uri": "a URI",
            "email": "an email address"}


def _problem(e: jsonschema_rs.ValidationError) -> Problem:
    """``path: what is wanted``, said from the schema alone (the allowed codes, the date's form, the
    bounds), so that whoever typed the claims can mend them; never the value, which may be personal
    data. A missing member is named by its path (a schema name, not a value). The rule's code and
    bound let a page say the same in its reader's language (``Problem``)."""
    kind, where = e.kind, _where(e.instance_path)
    if isinstance(kind, _KIND.Required):
        missing = _where([*e.instance_path, kind.property])
        return Problem(missing, "required", said=f"{missing}: required")
    if isinstance(kind, _KIND.Enum):  # a type's codes, few (a long list is named, not recited)
        options = list(kind.options)
        if len(options) > 12:
            return Problem(where, "many_codes", str(len(options)),
                           f"{where}: one of the {len(options)} codes its schema lists")
        codes = ", ".join(json.dumps(option, ensure_ascii=False) for option in options)
        return Problem(where, "one_of", codes, f"{where}: one of {codes}")
    if isinstance(kind, _KIND.Format):
        rule = kind.format.replace("-", "_") if kind.format in _FORMATS else "format"
        return Problem(where, rule, kind.format, f"{where}: {_FORMATS.get(kind.format, f'format {kind.format}')}")
    if isinstance(kind, _KIND.Type):
        wanted = [str(t) for t in kind.types]
        rule = wanted[0] if len(wanted) == 1 and wanted[0] in ("integer", "number", "boolean") else "kind"
        return Problem(where, rule, " ".join(wanted),
                       f"{where}: " + " or ".join(_JSON_TYPES.get(t, t) for t in wanted))
    if isinstance(kind, _KIND.Maximum | _KIND.Minimum | _KIND.MaxLength | _KIND.MinLength):
        most = isinstance(kind, _KIND.Maximum | _KIND.MaxLength)
        chars = isinstance(kind, _KIND.MaxLength | _KIND.MinLength)
        rule = ("at_most" if most else "at_least") + ("_chars" if chars else "")
        unit = " characters" if chars else ""
        return Problem(where, rule, str(kind.limit), f"{where}: at {'most' if most else 'least'} {kind.limit}{unit}")
    if isinstance(kind, _KIND.AdditionalProperties):
        return Problem(where, "not_a_member", said=f"{where}: a member this type does not have")
    if isinstance(kind, _KIND.Pattern):
        return Problem(where, "pattern", said=f"{where}: not in the form this type wants (see its example)")
    rule = str(e.schema_path[-1]) if e.schema_path else "schema"
    return Problem(where, "other", rule, f"{where}: {rule}")


def _where(path: Any) -> str:
    return format_path(tuple(path)) if path else "(claims)"


def _without_required(schema: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(schema))

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("required", None)
            node.pop("minItems", None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(out)
    return out
