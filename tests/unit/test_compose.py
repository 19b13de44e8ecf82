"""The Compose loader without an engine: interpolation, .env files, merge rules, extends,
include, profiles, names, what is not applied, errors, and the requests a project makes.
(Agreement with ``docker-compose config`` is in ``tests/compose``.)"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from infranb import InfrastructureManager, compose
from infranb.core.errors import ComposeError
from infranb.core.secrets import SecretRef
from infranb.inputs.compose.interpolation import Interpolator, env_file_values, parse_env_file
from infranb.testing import MemoryEngine

CORPUS = Path(__file__).parents[1] / "compose" / "corpus"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return folder


# ---------------------------------------------------------------- interpolation


VARIABLES = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$SET", "value"),
        ("${SET}", "value"),
        ("a${SET}b$SET.c", "avaluebvalue.c"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${SET:-d}", "value"),
        ("${SET:+r}", "r"),
        ("${EMPTY:+r}", ""),
        ("${EMPTY+r}", "r"),
        ("${UNSET+r}", ""),
        ("${UNSET:-${ALSO:-${SET}}}", "value"),
        ("${SET:+v${SET}}", "vvalue"),
        ("$$SET and $${SET}", "$SET and ${SET}"),
        ("cost: $5", "cost: $5"),
        ("${SET:?never raised}", "value"),
        ("${UNSET:-{braces}}", "{braces"),  # the first } closes, as in Compose
    ],
)
def test_interpolation_follows_the_compose_spec(text: str, expected: str) -> None:
    got = Interpolator(VARIABLES)(text)
    if text == "${UNSET:-{braces}}":
        assert got == "{braces}"  # the rest "}" stays literal
    else:
        assert got == expected


def test_unset_plain_references_become_empty_and_are_reported() -> None:
    interpolate = Interpolator({})
    assert interpolate("x${NOPE}y$NOPE") == "xy"
    assert interpolate.unset == ["NOPE"]


@pytest.mark.parametrize("text", ["${SET", "${}", "${SET!x}", "${SET:-unclosed"])
def test_bad_interpolation_is_an_error(text: str) -> None:
    with pytest.raises(ComposeError, match="invalid interpolation"):
        Interpolator(VARIABLES)(text)


def test_a_missing_required_variable_names_it_the_file_and_the_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": """
            services:
              db:
                image: postgres
                environment:
                  PASSWORD: ${DB_PASSWORD:?set it in .env}
            """
        },
    )
    with pytest.raises(ComposeError) as caught:
        compose.load(tmp_path, environ={})
    message = str(caught.value)
    assert "DB_PASSWORD" in message and "set it in .env" in message
    assert f"{tmp_path / 'compose.yaml'}:5:" in message
    # An empty value fails ":?" but passes "?".
    with pytest.raises(ComposeError, match="DB_PASSWORD"):
        compose.load(tmp_path, environ={"DB_PASSWORD": ""})
    assert compose.load(tmp_path, environ={"DB_PASSWORD": "x"}).containers[0]["environment"] == {
        "PASSWORD": "x"
    }


def test_env_file_syntax() -> None:
    text = textwrap.dedent(
        """
        # comment
        PLAIN=value  # trailing comment
        export EXPORTED=yes
        SINGLE='literal $PLAIN # not a comment'
        DOUBLE="line1\\nline2 ${PLAIN}"
        EMPTY=
        REF=${PLAIN}-x
        BARE
        MULTI="first
        second"
        """
    )
    values = parse_env_file(text, ".env", {"BARE": "from-env"})
    assert values == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SINGLE": "literal $PLAIN # not a comment",
        "DOUBLE": "line1\nline2 value",
        "EMPTY": "",
        "REF": "value-x",
        "BARE": "from-env",
        "MULTI": "first\nsecond",
    }
    with pytest.raises(ComposeError, match=r"\.env:2: expected KEY=VALUE"):
        parse_env_file("A=1\n=bad\n", ".env", {})


def test_environ_replaces_os_environ_and_wins_over_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path,
        {
            ".env": "TAG=from-dotenv\nOTHER=dotenv\n",
            "compose.yaml": "services:\n  a:\n    image: app:${TAG}-${OTHER}-${SHELL_ONLY:-none}\n",
        },
    )
    monkeypatch.setenv("SHELL_ONLY", "shell")
    monkeypatch.setenv("TAG", "shell-tag")
    assert compose.load(tmp_path).image("a") == "app:shell-tag-dotenv-shell"
    assert compose.load(tmp_path, environ={"TAG": "1.2"}).image("a") == "app:1.2-dotenv-none"
    env_file = write(tmp_path / "alt", {"prod.env": "OTHER=prod\n"}) / "prod.env"
    project = compose.load(tmp_path, environ={}, env_files=[env_file])
    assert project.image("a") == "app:-prod-none"  # .env is not read when env_files is given


# ---------------------------------------------------------------- names and files


def test_project_name_precedence_and_normalisation(tmp_path: Path) -> None:
    folder = write(tmp_path / "My_Shop.v2", {"compose.yaml": "services:\n  a:\n    image: x\n"})
    assert compose.load(folder, environ={}).name == "my_shopv2"
    assert compose.load(folder, environ={"COMPOSE_PROJECT_NAME": "Env"}).name == "env"
    assert compose.load(folder, environ={}, project_name="given").name == "given"
    (folder / "compose.yaml").write_text("name: From-File\nservices:\n  a:\n    image: x\n")
    project = compose.load(folder, environ={})
    assert project.name == "from-file"
    assert project.container_name("a") == "from-file-a-1"
    assert project.network_name("default") == "from-file_default"


def test_a_folder_finds_its_compose_file_and_override(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "docker-compose.yml": "services:\n  a:\n    image: x:1\n",
            "docker-compose.override.yml": "services:\n  a:\n    image: x:2\n",
        },
    )
    project = compose.load(tmp_path, environ={})
    assert [f.name for f in project.files] == ["docker-compose.yml", "docker-compose.override.yml"]
    assert project.image("a") == "x:2"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ComposeError, match=r"no compose\.yaml"):
        compose.load(tmp_path / "empty")
    with pytest.raises(ComposeError, match="no such file or folder"):
        compose.load(tmp_path / "not-there")


def test_merge_rules_of_several_files() -> None:
    case = CORPUS / "07-multi-file"
    project = compose.load(
        [case / "base.yaml", case / "services.yaml", case / "prod.yaml"], environ={}
    )
    api = next(c for c in project.containers if c["name"].endswith("-api-1"))
    assert api["image"] == "example/api:1.2"
    assert api["environment"] == {"A": "1", "B": "20", "C": "3"}  # mappings merged
    override = compose.load(CORPUS / "06-override", environ={})
    web = override.model.services["web"]
    assert web["command"] == ["serve", "--reload"]  # replaced
    assert [p["published"] for p in web["ports"]] == ["80", "8000"]  # appended
    assert web["environment"] == {"MODE": "production", "DEBUG": "true"}
    ci = compose.load(
        [CORPUS / "28-override-and-extends" / f for f in ("compose.yaml", "compose.ci.yaml")],
        environ={},
    )
    mounts = {m["target"]: m["source"] for m in ci.model.services["api"]["volumes"]}
    assert mounts["/app"].endswith("/api-ci")  # the same target: the override wins
    assert mounts["/cache"] == "cache"


def test_extends_resolves_paths_in_the_extended_file_against_its_own_folder() -> None:
    project = compose.load(CORPUS / "09-extends-other-file", environ={})
    api = project.model.services["api"]
    assert api["image"] == "example/app:3"
    assert api["environment"] == {"APP_ENV": "staging", "APP_ROLE": "api"}
    assert api["volumes"][0]["source"] == str(CORPUS / "09-extends-other-file/common/shared")


def test_an_extends_cycle_is_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": """
            services:
              a: {extends: b, image: x}
              b: {extends: a}
            """
        },
    )
    with pytest.raises(ComposeError, match="cycle"):
        compose.load(tmp_path, environ={})


def test_include_brings_in_another_projects_services_and_volumes() -> None:
    project = compose.load(CORPUS / "27-include", environ={})
    assert sorted(project.services) == ["app", "db"]
    db = next(c for c in project.containers if c["name"] == project.container_name("db"))
    assert db["volumes"] == [f"{project.name}_dbdata:/var/lib/postgresql/data"]
    app = next(c for c in project.containers if c["name"] == project.container_name("app"))
    assert app["depends_on"] == {project.container_name("db"): "started"}


def test_include_of_a_service_defined_twice_is_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "other.yaml": "services:\n  a:\n    image: x\n",
            "compose.yaml": "include: [other.yaml]\nservices:\n  a:\n    image: y\n",
        },
    )
    with pytest.raises(ComposeError, match="defined both here and in the included"):
        compose.load(tmp_path, environ={})


def test_interpolation_spec_cases_beyond_docker_compose_1_29() -> None:
    project = compose.load(CORPUS / "29-interpolation-spec", environ={"TAG": "2.0", "EMPTY": ""})
    assert project.containers[0]["environment"] == {
        "SET_PLUS": "has-tag",
        "SET_PLUS_DASH": "has-tag",
        "UNSET_PLUS": "",
        "EMPTY_COLON_PLUS": "",
        "EMPTY_PLUS": "empty-is-set",
        "NESTED": "2.0",
        "NESTED_REPLACEMENT": "v2.0",
    }


# ---------------------------------------------------------------- profiles


def test_profiles_select_services(monkeypatch: pytest.MonkeyPatch) -> None:
    case = CORPUS / "04-profiles"
    assert list(compose.load(case, environ={}).services) == ["app"]
    assert list(compose.load(case, environ={}, profiles=["dev"]).services) == ["app", "mailhog"]
    every = compose.load(case, environ={"COMPOSE_PROFILES": "debug"})
    assert list(every.services) == ["app", "debug-shell", "mailhog"]


def test_a_dependency_in_a_disabled_profile() -> None:
    case = CORPUS / "26-compose-spec-depends"
    project = compose.load(case, environ={})  # cache is optional (required: false)
    app = project.containers[0]
    assert app["depends_on"] == {  # the corpus file asks for a restart after db's (#44)
        project.container_name("db"): {"condition": "healthy", "restart": True}
    }
    assert any("optional dependency 'cache'" in w for w in project.warnings)
    with_cache = compose.load(case, environ={}, profiles=["with-cache"])
    assert with_cache.containers[0]["depends_on"][with_cache.container_name("cache")] == "started"


def test_a_required_dependency_in_a_disabled_profile_is_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": """
            services:
              app: {image: x, depends_on: [db]}
              db: {image: y, profiles: [data]}
            """
        },
    )
    with pytest.raises(ComposeError, match=r"profile \(data\) is not enabled"):
        compose.load(tmp_path, environ={})


# ---------------------------------------------------------------- translation


def test_every_corpus_project_makes_a_valid_request() -> None:
    import yaml

    for case in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        meta = case / "case.yaml"
        files = (yaml.safe_load(meta.read_text()) or {}).get("files") if meta.is_file() else None
        target = [case / f for f in files] if files else case
        project = compose.load(target, environ={"WEB_PORT": "8080", "TAG": "1"}, profiles=["*"])
        problems = project.operation().validate()
        if case.name == "34-error-tracker":
            # Two alternative profiles publish one host port: a clash once both run.
            assert [p.message for p in problems] == [
                f"host port 9000/tcp is already published by '{project.name}-web-1'"
            ]
            one = compose.load(target, environ={}, profiles=["errors-only"])
            assert one.operation().validate() == []
            continue
        assert problems == [], case.name


def test_the_cases_of_stock_files_read_as_compose_reads_them(tmp_path: Path) -> None:
    """Each shape found refused or misread in stock files (issue #27), as v2 reads it."""
    write(
        tmp_path,
        {
            "compose.yaml": """
            services:
              web:
                image: x
                ports: ["${HTTPS_BIND:-}:${HTTPS_PORT:-443}:${HTTPS_PORT:-443}"]
                healthcheck: {disable: false}
                init: ${INIT:-false}
                volumes: ["./a:/etc/x/", "./missing/dir:/data"]
                platform: ${PLATFORM:-}
                depends_on: {db: {condition: service_started, restart: true}}
              db:
                image: y
                healthcheck:
                  test: ["CMD", "true"]
                  start_period: 0s
                  disable: ${NO_CHECK:-true}
                deploy:
                  replicas: 2
                  restart_policy: {condition: on-failure, max_attempts: 3}
                  resources: {limits: {cpus: "0.5", memory: 64M}, reservations: {memory: 16M}}
              build1: {build: ./b, image: shared:1}
              build2: {build: ./b, image: shared:1}
            """,
            "compose.override.yaml": """
            services:
              web:
                volumes: ["./b:/etc/x"]
            """,
        },
    )
    (tmp_path / "b").mkdir()
    project = compose.load(tmp_path, environ={"NO_CHECK": "false"})
    web, db1, db2 = project.containers[:3]
    assert web["ports"] == ["443:443/tcp"]  # an empty host IP is every interface
    assert "healthcheck" not in web  # the image's healthcheck stays
    assert web["init"] is False
    assert web["volumes"] == [f"{tmp_path}/b:/etc/x", f"{tmp_path}/missing/dir:/data"]
    assert "platform" not in web
    # depends_on's restart is applied since #44: the dependent restarts after db's replacement
    assert [r.key for r in project.not_applicable.itertuples()] == []
    assert db1["healthcheck"] == {"test": ["CMD", "true"], "start_period": "0s"}  # X=false
    assert [db1["name"], db2["name"]] == [f"{project.name}-db-1", f"{project.name}-db-2"]
    assert db2["container_number"] == 2
    assert (db1["restart"], db1["cpus"], db1["mem_limit"], db1["mem_reservation"]) == (
        "on-failure:3",
        0.5,
        "64M",
        "16M",
    )
    assert web["depends_on"] == {  # with its restart: true (#44)
        f"{project.name}-db-1": {"condition": "started", "restart": True},
        f"{project.name}-db-2": {"condition": "started", "restart": True},
    }
    assert len(project.builds()) == 1  # one tag, one build
    assert project.unsupported.empty
    assert project.operation().validate() == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "services:\n  a:\n    image: x\n    enviroment: {A: b}\n",
            r"compose.yaml:4: service 'a': 'enviroment' is not a Compose key; "
            r"did you mean 'environment'\?",
        ),
        (
            "services:\n  a:\n    image: x\n    port: [80]\n",
            r"compose.yaml:4: service 'a': 'port' is not a Compose key; did you mean 'ports'\?",
        ),
        (
            "services:\n  a:\n    image: x\n    healthcheck: {tset: [CMD, 'true']}\n",
            r"compose.yaml:4: service 'a': 'healthcheck.tset' is not a Compose key; "
            r"did you mean 'test'\?",
        ),
        (
            "service:\n  a:\n    image: x\n",
            r"compose.yaml:1: unknown top-level key 'service'; did you mean 'services'\?",
        ),
        (
            "services:\n  a:\n    image: x\n    init: ${INIT:-maybe}\n",
            r"compose.yaml:4: service 'a': init: 'maybe' is not a boolean",
        ),
    ],
)
def test_a_key_compose_refuses_is_refused_with_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "compose.yaml").write_text(text)
    with pytest.raises(ComposeError, match=message):
        compose.load(tmp_path, environ={})


def test_secrets_and_configs_from_files_are_read_only_mounts() -> None:
    project = compose.load(CORPUS / "03-secrets-files", environ={})
    folder = CORPUS / "03-secrets-files"
    api = next(c for c in project.containers if c["name"] == project.container_name("api"))
    assert api["volumes"] == [
        f"{folder}/api_key.txt:/run/secrets/api.key:ro",
        f"{folder}/db_password.txt:/run/secrets/db_password:ro",
    ]


def test_networks_aliases_internal_and_external() -> None:
    project = compose.load(CORPUS / "12-networks-aliases", environ={})
    proxy = project.containers[0]
    name = project.name
    assert proxy["networks"] == {
        f"{name}_front": {"aliases": ["proxy", "edge", "lb"]},
        "infra-shared": {"aliases": ["proxy"]},
    }
    request = project.operation()
    assert request.networks["infra-shared"]["external"] is True
    assert request.networks[f"{name}_back"]["internal"] is True


def test_volume_names_and_external_volumes() -> None:
    project = compose.load(CORPUS / "25-external-volumes", environ={})
    backup = project.containers[0]
    assert backup["volumes"] == [
        "company-archive:/archive",
        f"{project.name}_scratch:/scratch",
        "backup-keys:/keys:ro",
    ]
    assert project.volumes["company-archive"]["external"] is True
    assert project.volumes[f"{project.name}_scratch"]["labels"] == {
        "com.example.purpose": "scratch"
    }


def test_builds_become_manage_images_requests() -> None:
    project = compose.load(CORPUS / "15-build", environ={})
    builds = {b.image_params["tag"]: b.image_params for b in project.builds()}
    folder = CORPUS / "15-build"
    assert builds == {
        f"{project.name}-api": {
            "action": "build",
            "path": str(folder / "api"),
            "tag": f"{project.name}-api",
        },
        "example/worker:dev": {
            "action": "build",
            "path": str(folder / "worker"),
            "tag": "example/worker:dev",
            "dockerfile": "Containerfile",
            "buildargs": {"VERSION": "1.2", "COMMIT": "abc123"},
            "target": "runtime",
            "labels": {"team": "ops"},
        },
    }
    assert all(b.validate() == [] for b in project.builds())


def test_unapplied_keys_are_listed_never_silently_ignored(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": """
            version: "3.9"
            x-notes: {owner: ops}
            services:
              app:
                image: x
                x-internal: true
                attach: false
                deploy: {replicas: 3, placement: {constraints: [node.role==manager]}}
                ulimits: {nofile: 1024}
                volumes: ["/cache"]
                volumes_from: [other]
                links: ["db:database", "db"]
                ports: [{target: 80, published: "8080", name: web, app_protocol: http}]
                build: {context: ., cache_from: [x]}
                healthcheck: {test: "true", start_interval: 1s}
                depends_on: {db: {condition: service_started, restart: true}}
              db:
                image: y
            networks:
              default:
                ipam: {config: [{subnet: 10.5.0.0/16}]}
            """
        },
    )
    project = compose.load(tmp_path, environ={})
    rows = {(r.service, r.key) for r in project.unsupported.itertuples()}
    # deploy.replicas, ulimits, the anonymous volume and ipam are applied now.
    assert rows == {
        ("app", "volumes_from"),
        ("app", "links"),
        ("app", "build.cache_from"),
        ("app", "healthcheck.start_interval"),
    }
    moot = {(r.service, r.key) for r in project.not_applicable.itertuples()}
    assert moot == {
        ("app", "attach"),
        ("app", "deploy.placement"),
        ("app", "ports.name"),
        ("app", "ports.app_protocol"),
    }  # depends_on.restart is applied since #44
    assert [c["name"] for c in project.containers] == [
        f"{project.name}-app-1", f"{project.name}-app-2", f"{project.name}-app-3",
        f"{project.name}-db-1",
    ]  # fmt: skip
    assert project.containers[0]["ulimits"] == {"nofile": 1024}
    assert "/cache" in project.containers[0]["volumes"]
    assert project.networks[f"{project.name}_default"]["ipam"] == {
        "config": [{"subnet": "10.5.0.0/16"}]
    }
    refused = InfrastructureManager(engine=MemoryEngine()).up(project)
    assert not refused.success
    assert "services.app.links" in refused.error and "allow_unapplied=True" in refused.error
    assert list(project.unsupported.columns) == ["service", "key", "reason"]
    assert any("'version' is obsolete" in w for w in project.warnings)
    assert compose.load(CORPUS / "01-web-db-cache", environ={}).unsupported.empty


@pytest.mark.parametrize(
    ("compose_yaml", "message"),
    [
        (
            "services:\n  a:\n    image: x\n    networks: [nope]\n",
            "network 'nope', which is not declared",
        ),
        (
            "services:\n  a:\n    image: x\n    volumes: ['data:/d']\n",
            "volume 'data', which is not declared",
        ),
        ("services:\n  a:\n    image: x\n    depends_on: [b]\n", "'b', which is not a service"),
        ("services:\n  a:\n    command: x\n", "needs an 'image' or a 'build'"),
        ("services:\n  a:\n    image: x\n    secrets: [s]\n", "secret 's', which is not declared"),
        (
            "services:\n  a:\n    image: x\n    env_file: missing.env\n",
            "missing.env does not exist",
        ),
        ("services:\n  a:\n    image: x\n    restart: sometimes\n", "service 'a': restart:"),
        ("services:\n  a:\n    image: x\n    ports: ['80:80:80:80']\n", "is not a port"),
        ("services: [a, b]\n", "'services' must be a mapping"),
        ("services:\n  a: {image: x\n", "not valid YAML"),
        ("include: [nothere.yaml]\nservices: {}\n", "does not exist"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, compose_yaml: str, message: str) -> None:
    (tmp_path / "compose.yaml").write_text(compose_yaml)
    with pytest.raises(ComposeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compose.load(tmp_path, environ={})


def test_an_optional_env_file_may_be_missing(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": """
            services:
              a:
                image: x
                env_file:
                  - path: ./local.env
                    required: false
                  - base.env
            """,
            "base.env": "A=1\n",
        },
    )
    assert compose.load(tmp_path, environ={}).containers[0]["environment"] == {"A": "1"}


def test_frame_columns_and_reprs_keep_secrets_out() -> None:
    project = compose.load(CORPUS / "17-wordpress", environ={})
    frame = project.to_frame()
    assert list(frame.columns) == [
        "service", "container", "replicas", "image", "build", "ports", "networks",
        "depends_on", "healthcheck", "profiles",
    ]  # fmt: skip
    assert frame["depends_on"].tolist() == ["", "db (started)"]
    shown = [
        repr(project),
        str(frame),
        project._repr_html_(),
        project._repr_mimebundle_()["text/plain"],
        repr(project.operation()),
        str(project.operation()),
        repr(project.containers),
        repr(project.model),
    ]
    for text in shown:
        assert "rootpw" not in text and "wppw" not in text
    # ...while the containers get the values: a reference to where .env holds them.
    db = project.containers[0]
    ref = db["environment"]["MYSQL_ROOT_PASSWORD"]
    assert ref == SecretRef("dotenv", "MYSQL_ROOT_PASSWORD", str(CORPUS / "17-wordpress" / ".env"))
    assert ref.resolve(env_file_values) == "rootpw"


def test_up_dry_run_plans_builds_and_containers_on_a_memory_engine() -> None:
    project = compose.load(CORPUS / "15-build", environ={})
    engine = MemoryEngine([])
    before = engine.census()
    with InfrastructureManager(engine=engine) as manager:
        result = manager.up(project, dry_run=True)
    assert result.success, result.error
    assert result.dry_run
    assert [step.action for step in result.plan] == ["create", "create"]
    assert [i.reference for i in result.images] == [f"{project.name}-api", "example/worker:dev"]
    assert engine.census() == before
    assert {call for call in engine.calls if call.startswith(("create", "build", "pull"))} == set()
    assert any("built from" in w for w in result.warnings)


def test_forms_can_be_filled_from_a_project() -> None:
    from infranb.notebook.widgets import OrchestrateForm

    project = compose.load(CORPUS / "12-networks-aliases", environ={})
    form = OrchestrateForm.from_operation(project.operation())
    assert form.operation == project.operation()


def test_configs_mount_at_their_target_or_at_the_root(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "nginx.conf": "events {}\n",
            "compose.yaml": """
            services:
              web:
                image: nginx
                configs:
                  - nginx_conf
                  - source: nginx_conf
                    target: /etc/nginx/nginx.conf
                    mode: 0440
            configs:
              nginx_conf:
                file: ./nginx.conf
              from_env:
                environment: NGINX_CONF
            """,
        },
    )
    project = compose.load(tmp_path, environ={})
    assert project.containers[0]["volumes"] == [
        f"{tmp_path}/nginx.conf:/nginx_conf:ro",
        f"{tmp_path}/nginx.conf:/etc/nginx/nginx.conf:ro",
    ]
    assert ("web", "configs.mode") in {(r.service, r.key) for r in project.unsupported.itertuples()}


def test_a_secret_shared_by_two_variables_is_not_journaled_by_reference(tmp_path: Path) -> None:
    """Which variable a value came from is known only when one variable holds it."""
    write(
        tmp_path,
        {
            "compose.yaml": """
            services:
              db:
                image: x
                environment:
                  ROOT_PASSWORD: ${ROOT_PW}
                  APP_PASSWORD: ${APP_PW}
                  OTHER_PASSWORD: ${OTHER_PW}
            """,
            ".env": "ROOT_PW=same\nAPP_PW=same\nOTHER_PW=distinct\n",
        },
    )
    env = compose.load(tmp_path, environ={}).containers[0]["environment"]
    assert env["ROOT_PASSWORD"] == env["APP_PASSWORD"] == "same"  # masked in the journal
    assert env["OTHER_PASSWORD"] == SecretRef("dotenv", "OTHER_PW", str(tmp_path / ".env"))
