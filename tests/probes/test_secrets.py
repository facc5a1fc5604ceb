"""controller.secrets: references resolve to values; errors name the reference and the
inventory field, never the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.errors import GovnetError, SecretError
from controller.secrets import SecretReferenceError, resolve_secret

FIELD = "credentials.snmp.lab-v3.auth"


def test_env_reference_resolves_from_the_given_environment() -> None:
    assert resolve_secret("env:LAB_AUTH", FIELD, {"LAB_AUTH": "s3cret"}) == "s3cret"


def test_env_reference_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVNET_TEST_SECRET", "from-env")
    assert resolve_secret("env:GOVNET_TEST_SECRET", FIELD) == "from-env"


def test_a_missing_variable_names_reference_and_field() -> None:
    with pytest.raises(SecretReferenceError) as info:
        resolve_secret("env:NOPE_NOT_SET", FIELD, {})
    message = str(info.value)
    assert message == (
        "credentials.snmp.lab-v3.auth: env:NOPE_NOT_SET: environment variable NOPE_NOT_SET "
        "is not set"
    )
    assert isinstance(info.value, SecretError) and isinstance(info.value, GovnetError)


def test_an_empty_variable_is_an_error() -> None:
    with pytest.raises(SecretReferenceError, match="is empty"):
        resolve_secret("env:EMPTY", FIELD, {"EMPTY": ""})


def test_file_reference_drops_one_trailing_newline(tmp_path: Path) -> None:
    secret = tmp_path / "auth"
    secret.write_text("file-secret\n")
    assert resolve_secret(f"file:{secret}", FIELD) == "file-secret"


def test_missing_and_empty_files_are_errors_naming_the_reference(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    with pytest.raises(SecretReferenceError) as info:
        resolve_secret(f"file:{missing}", FIELD)
    assert str(info.value).startswith(f"{FIELD}: file:{missing}: cannot read")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SecretReferenceError, match="file is empty"):
        resolve_secret(f"file:{empty}", FIELD)


def test_the_value_never_appears_in_an_error(tmp_path: Path) -> None:
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xffTOPSECRET\xfe")
    with pytest.raises(SecretReferenceError) as info:
        resolve_secret(f"file:{binary}", FIELD)
    assert "TOPSECRET" not in str(info.value) and info.value.__cause__ is None
    assert "not UTF-8" in str(info.value)


@pytest.mark.parametrize("reference", ["plain-password", "vault:x", "env:", "file:"])
def test_malformed_references_are_refused(reference: str) -> None:
    with pytest.raises(SecretReferenceError) as info:
        resolve_secret(reference, FIELD, {})
    assert str(info.value).startswith(f"{FIELD}: {reference}: ")
