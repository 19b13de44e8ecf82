"""Masking by role: a secret is masked in values and free text; identifiers (names, images,
paths, the labels infranb and Compose set) are never rewritten, even when the password is
the very word they are made of. The stock examples do exactly this: ``POSTGRES_PASSWORD:
postgres`` in a service called ``postgres`` running the image ``postgres``
(``tests/compose/corpus/39-llm-observability``)."""

from __future__ import annotations

import json
from pathlib import Path

from infranb import InfrastructureManager, InfrastructureManagerConfig, compose
from infranb.core.secrets import MASK, Redactor
from infranb.testing import MemoryEngine

FILE = """\
services:
  postgres:
    image: postgres
    command: ["postgres", "-c", "password=postgres"]
    environment:
      POSTGRES_PASSWORD: postgres
      POSTGRES_USER: admin
    volumes: [postgres:/var/lib/postgresql/data]
    labels: {backup.note: "user postgres"}
  app:
    image: postgres
    depends_on: [postgres]
    command: ["sh", "-c", "psql --password postgres"]
volumes:
  postgres: {}
"""


def test_free_text_masks_the_secret_but_not_the_names_made_of_it() -> None:
    redact = Redactor(["postgres"], identifiers=["shop-postgres-1", "postgres:16", "postgres"])
    text = "name shop-postgres-1 is in use; image postgres:16; login with postgres"
    assert redact(text) == f"name shop-postgres-1 is in use; image postgres:16; login with {MASK}"
    # Without identifiers every occurrence goes, as before.
    assert Redactor(["postgres"])("shop-postgres-1") == f"shop-{MASK}-1"


def test_the_journal_keeps_identifiers_and_masks_the_password(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(FILE)
    project = compose.load(tmp_path, project_name="shop", environ={})
    engine = MemoryEngine(["postgres"])
    book = tmp_path / "journal.sqlite"
    manager = InfrastructureManager(
        InfrastructureManagerConfig(journal=str(book), stop_timeout=0.1), engine=engine
    )
    result = manager.up(project)
    assert result.success, result.error

    entry = manager.history_entry(result.run_id)
    stored = {c["name"]: c for c in entry.request["containers"]}
    db = stored["shop-postgres-1"]
    assert (db["image"], db["service"]) == ("postgres", "postgres")
    assert db["volumes"] == ["shop_postgres:/var/lib/postgresql/data"]
    assert db["environment"] == {"POSTGRES_PASSWORD": MASK, "POSTGRES_USER": "admin"}
    # Free text: the password is masked where it stands alone.
    assert db["command"] == [MASK, "-c", f"password={MASK}"]
    assert db["labels"]["backup.note"] == f"user {MASK}"
    assert stored["shop-app-1"]["depends_on"] == {"shop-postgres-1": "started"}
    assert entry.request["volumes"]["shop_postgres"]["key"] == "postgres"
    assert "postgres" not in json.dumps(db["environment"])

    # A revert can read its own record: the image reference is a reference, not a mask.
    down = manager.down("shop")
    assert down.success, down.error
    assert all(
        MASK not in c["image"]
        for c in manager.history_entry(down.run_id).prior.get("containers", [])
    )


REVERTED = """\
services:
  db:
    image: postgres
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
      MODE: ${MODE:-one}
  cache:
    image: postgres
    environment:
      CACHE_PASSWORD: written-in-the-file
"""


def test_secrets_of_a_compose_project_survive_a_revert(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(REVERTED)
    dotenv = tmp_path / ".env"
    dotenv.write_text("DB_PASSWORD=from-dotenv-1\nMODE=one\n")
    engine = MemoryEngine(["postgres"])
    manager = InfrastructureManager(
        InfrastructureManagerConfig(journal=str(tmp_path / "j.sqlite"), stop_timeout=0.1),
        engine=engine,
    )

    def up() -> str:
        result = manager.up(compose.load(tmp_path, project_name="rv", environ={}))
        assert result.success, result.error
        return str(result.run_id)

    up()
    dotenv.write_text("DB_PASSWORD=from-dotenv-1\nMODE=two\n")
    second = up()  # recreates db only
    entry = manager.history_entry(second)
    assert entry.request["containers"][0]["environment"]["POSTGRES_PASSWORD"] == {
        "$secret": "dotenv", "name": "DB_PASSWORD", "file": str(dotenv)
    }  # fmt: skip

    # db is read again from .env (its fingerprint matches); cache was not changed by the
    # run, so its masked literal comes from the container itself.
    back = manager.revert(second)
    assert back.success, back.error
    env = {c.name: c for c in engine.containers.values()}["rv-db-1"].environment
    assert (env["MODE"], env["POSTGRES_PASSWORD"]) == ("one", "from-dotenv-1")

    # A value changed since in .env would make another container: refused, by name.
    dotenv.write_text("DB_PASSWORD=from-dotenv-2\nMODE=two\n")
    third = up()
    dotenv.write_text("DB_PASSWORD=from-dotenv-3\nMODE=two\n")
    refused = manager.revert(third)
    assert not refused.success
    assert "environment.POSTGRES_PASSWORD" in str(refused.error)
    assert "DB_PASSWORD" in str(refused.error) and "changed since" in str(refused.error)
    assert "from-dotenv" not in str(refused.error)


FILES = """\
services:
  app:
    image: postgres
    secrets: [api_token, {source: db_key, target: db.key, mode: 0400}]
    configs: [{source: app_conf, target: /etc/app.conf}]
secrets:
  api_token: {environment: API_TOKEN}
  db_key: {environment: DB_KEY}
configs:
  app_conf:
    content: |
      listen 8080
      name ${APP_NAME:-shop}
"""


def test_secrets_and_configs_from_environment_and_content_are_copied_in(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(FILES)
    (tmp_path / ".env").write_text("API_TOKEN=tok-from-dotenv\n")
    project = compose.load(tmp_path, project_name="fl", environ={"DB_KEY": "key-from-environ"})
    assert project.unsupported.empty, project.unsupported
    files = project.containers[0]["files"]
    assert files["/run/secrets/api_token"]["content"].source == "dotenv"
    assert files["/run/secrets/db.key"]["mode"] == 0o400
    assert files["/etc/app.conf"]["content"] == "listen 8080\nname shop\n"
    shown = repr(project.containers) + repr(project.operation())
    assert "key-from-environ" not in shown and "tok-from-dotenv" not in shown

    engine = MemoryEngine(["postgres"])
    manager = InfrastructureManager(
        InfrastructureManagerConfig(journal=str(tmp_path / "j.sqlite"), stop_timeout=0.1),
        engine=engine,
    )
    result = manager.up(project)
    assert result.success, result.error
    name = "fl-app-1"
    assert engine.exec_in(name, ["cat", "/run/secrets/api_token"]) == (0, "tok-from-dotenv")
    assert engine.exec_in(name, ["cat", "/run/secrets/db.key"]) == (0, "key-from-environ")
    assert engine.exec_in(name, ["cat", "/etc/app.conf"]) == (0, "listen 8080\nname shop\n")
    stored = manager.history_entry(result.run_id).request["containers"][0]["files"]
    assert stored["/run/secrets/api_token"]["content"]["$secret"] == "dotenv"
    assert stored["/run/secrets/db.key"]["content"] == MASK  # a value, never stored
    assert stored["/etc/app.conf"]["content"] == "listen 8080\nname shop\n"
    # A changed token recreates the container, naming the file (its fingerprint is salted).
    (tmp_path / ".env").write_text("API_TOKEN=tok-2\n")
    again = manager.up(
        compose.load(tmp_path, project_name="fl", environ={"DB_KEY": "key-from-environ"})
    )
    assert again.success, again.error
    step = again.plan[0]
    assert (step.action, step.reason) == ("recreate", "changed: files./run/secrets/api_token")
    assert engine.exec_in(name, ["cat", "/run/secrets/api_token"]) == (0, "tok-2")
