from __future__ import annotations

import pytest

from infranb.secrets import (
    MASK,
    Redactor,
    is_secret_key,
    masked_environment,
    secret_from_env,
    secret_from_file,
)


def test_rule() -> None:
    for key in ("POSTGRES_PASSWORD", "api_token", "AWS_SECRET_ACCESS_KEY", "DB_CREDENTIALS"):
        assert is_secret_key(key)
    for key in ("POSTGRES_DB", "PATH", "HOME"):
        assert not is_secret_key(key)
    assert is_secret_key("PIN", ["PIN"])


def test_masking_and_references() -> None:
    shown = masked_environment(
        {"USER": "admin", "PASSWORD": "hunter22", "TOKEN": secret_from_env("MY_TOKEN")}
    )
    assert shown == {"USER": "admin", "PASSWORD": MASK, "TOKEN": "secret_from_env('MY_TOKEN')"}


def test_references_resolve(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("INFRANB_T", "s3cr3t")
    assert secret_from_env("INFRANB_T").resolve() == "s3cr3t"
    path = tmp_path / "pw"
    path.write_text("from-file\n")
    assert secret_from_file(path).resolve() == "from-file"
    assert "from-file" not in repr(secret_from_file(path))
    monkeypatch.delenv("INFRANB_T")
    with pytest.raises(LookupError, match="INFRANB_T"):
        secret_from_env("INFRANB_T").resolve()


def test_redactor() -> None:
    redact = Redactor(["hunter22", "x"]).extend(["p@ss.word"])
    assert redact("login hunter22 p@ss.word x") == f"login {MASK} {MASK} x"
    assert Redactor()("unchanged") == "unchanged"
