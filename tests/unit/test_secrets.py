from __future__ import annotations

import pytest

from infranb.core.secrets import (
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


def test_every_text_form_of_a_request_masks_secrets() -> None:
    from infranb import InfrastructureOperation
    from infranb.testing import MemoryEngine

    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="shop",
        containers=[
            {
                "image": "infranb-demo/base:1",
                "name": "api",
                "environment": {
                    "DB_PASSWORD": "hunter22-pw",
                    "DATABASE_URL": "postgres://app:hunter22-url@db/app",
                },
            },
            {
                "image": "infranb-demo/base:1",
                "name": "worker",
                "environment": ["API_TOKEN=hunter22-tok", "UPSTREAM=https://bot:hunter22-u2@h/x"],
            },
        ],
    )
    texts = {
        "repr": repr(op),
        "str": str(op),
        "specs": repr(op.container_specs()),
        "html": op._repr_mimebundle_()["text/html"],
    }
    for what, text in texts.items():
        assert "hunter22" not in text, what
    assert "postgres://app:••••••@db/app" in texts["repr"]

    from infranb import InfrastructureManager

    result = InfrastructureManager(engine=MemoryEngine(["infranb-demo/base:1"])).run(op)
    assert result.success, result.error
    for text in (str(result), repr(result), result.to_frame().to_string()):
        assert "hunter22" not in text


def test_a_malformed_environment_entry_is_not_echoed() -> None:
    from infranb import InfrastructureOperation

    op = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[{"image": "x", "name": "db", "environment": ["POSTGRES_PASSWORD: hunter22"]}],
    )
    [problem] = op.validate()
    assert problem.path == "containers[0].environment[0]"
    assert "hunter22" not in problem
    assert "hunter22" not in repr(op)


def test_url_credentials_are_masked_in_free_text() -> None:
    from infranb.core.secrets import Redactor, mask_url_credentials

    assert mask_url_credentials("see https://user:tok@host/x and s3://key@b") == (
        "see https://user:••••••@host/x and s3://••••••@b"
    )
    assert Redactor()("failed: redis://:pw@cache:6379/0") == "failed: redis://:••••••@cache:6379/0"


def test_engine_url_credentials_never_show_in_the_managers_reprs() -> None:
    from infranb import InfrastructureManager, InfrastructureManagerConfig

    config = InfrastructureManagerConfig(docker_host="tcp://ops:s3cr3t-PW@127.0.0.1:9")
    with InfrastructureManager(config) as manager:
        shown = [repr(manager), str(manager), *manager._repr_mimebundle_().values()]
        assert all("s3cr3t-PW" not in text for text in shown), shown
        # the address itself is kept: the user, the host and the port are identifiers
        assert all("tcp://ops:" in text and "@127.0.0.1:9" in text for text in shown[:2])
