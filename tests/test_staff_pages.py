"""core.staff: what a staff sign-in keeps and where it may lead back to (issue 10, item 6)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import FormData, UploadFile

from core.staff import Door, kept_fields, safe_return

DOOR = Door(title_key="desk.title", home="/verifier/desk", login="/verifier/desk/login", key_field="desk_key",
            key_label_key="desk.key")


def test_what_was_typed_is_kept_but_never_the_token_the_key_or_a_file() -> None:
    upload = UploadFile(file=None, filename="class.csv")  # type: ignore[arg-type]
    form = FormData([("csrf", "t"), ("lang", "ar"), ("desk_key", "amv_secret"), ("query", "right-to-work"),
                     ("csv", upload), ("given_name", "ليلى"), ("return_to", "/x")])
    assert kept_fields(form, DOOR) == [("query", "right-to-work"), ("given_name", "ليلى")]


def test_only_paths_inside_the_service_are_returned_to() -> None:
    assert safe_return(DOOR, "/verifier/desk/checks") == "/verifier/desk/checks"
    for bad in ("https://evil.example/verifier/desk", "//evil.example", "/issuer/console", "/verifier/desk//x",
                "/verifier/desk\\x", "/verifier/desk/\nx", None, 7):
        assert safe_return(DOOR, bad) is None, bad


@given(st.text())
def test_a_return_address_is_never_another_site(target: str) -> None:
    safe = safe_return(DOOR, target)
    assert safe is None or (safe.startswith("/verifier/desk") and "//" not in safe and safe.isprintable())
