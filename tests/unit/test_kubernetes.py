"""A stack as Kubernetes manifests (issue 47), offline: every object of a dict stack with
every mapped key, of each project of the Compose corpus and of the example notebooks' stacks
validates against the Kubernetes 1.37 OpenAPI schemas in strict mode (kubernetes-validate
1.37.0, which alone rejects unknown fields); secret values are never written; what is not
converted is listed with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from infranb import InfrastructureOperation, secret_from_env
from infranb.kubernetes import KUBERNETES_VERSION, manifests
from tests.compose.test_reference import CASES, load

SECRET = "k8s-never-written-value"

EVERY_KEY = InfrastructureOperation(
    operation="orchestrate_containers",
    stack="Shop_App",
    containers=[
        {
            "name": "db", "image": "postgres:16", "service": "db",
            "environment": {"POSTGRES_PASSWORD": secret_from_env("PG_PASSWORD"),
                            "API_TOKEN": SECRET, "POSTGRES_DB": "shop"},
            "volumes": {"dbdata": "/var/lib/postgresql/data", "/tmp/seed": "/seed"},
            "healthcheck": {"test": ["CMD-SHELL", "pg_isready -U postgres"], "interval": "5s",
                            "timeout": "3s", "retries": 5, "start_period": "10s"},
            "expose": ["5432"], "mem_limit": "512m", "mem_reservation": "256m", "cpus": 1.5,
            "user": "999:999", "stop_grace_period": "30s", "shm_size": "256m",
            "group_add": ["70", "audio"], "ipc": "host", "stop_signal": "SIGINT",
        },
        {
            "name": "web-1", "image": "nginx:1.27", "service": "web", "container_number": 1,
            "ports": {"80": "8080"}, "depends_on": {"db": "healthy"},
            "healthcheck": {"test": ["CMD", "curl", "-f", "http://localhost:80/health"]},
            "command": ["nginx", "-g", "daemon off;"], "entrypoint": ["/docker-entrypoint.sh"],
            "working_dir": "/srv", "read_only": True, "cap_drop": ["ALL"],
            "cap_add": ["NET_BIND_SERVICE"], "restart": "unless-stopped", "tty": True,
            "files": {"/etc/nginx/conf.d/site.conf": {"content": "server {}"}},
            "sysctls": {"net.core.somaxconn": "1024"}, "extra_hosts": {"api": "10.0.0.5"},
            "update_config": {"order": "start-first", "parallelism": 2, "monitor": "5s",
                              "failure_action": "rollback"},
        },
        {"name": "web-2", "image": "nginx:1.27", "service": "web", "container_number": 2,
         "ports": {"80": "8081"}},
        {"name": "migrate", "image": "app:1", "command": "python migrate.py",
         "restart": "no", "volumes": {"": "/scratch"},
         "files": {"/run/secrets/token": {"content": SECRET, "secret": True}}},
    ],
)  # fmt: skip


def kinds(m) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(o["kind"], o["metadata"]["name"]) for o in m.objects]


def test_every_mapped_key_validates_strictly_and_names_what_it_left() -> None:
    m = manifests(EVERY_KEY)
    assert KUBERNETES_VERSION == "1.37.0"
    assert m.validate() == []
    assert sorted(kinds(m)) == sorted([
        ("Deployment", "db"), ("Service", "db"), ("Deployment", "web"), ("Service", "web"),
        ("ConfigMap", "web-site-conf"), ("Deployment", "migrate"),
        ("PersistentVolumeClaim", "dbdata"),
    ])  # fmt: skip
    web = next(o for o in m.objects if kinds_of(o) == ("Deployment", "web"))
    assert web["spec"]["replicas"] == 2  # the service's two containers
    assert web["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0},
    }
    assert web["spec"]["minReadySeconds"] == 5
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": 80}
    assert container["command"] == ["/docker-entrypoint.sh"]
    assert container["args"] == ["nginx", "-g", "daemon off;"]
    assert container["securityContext"]["capabilities"] == {
        "add": ["NET_BIND_SERVICE"],
        "drop": ["ALL"],
    }
    db = next(o for o in m.objects if kinds_of(o) == ("Deployment", "db"))
    db_container = db["spec"]["template"]["spec"]["containers"][0]
    assert db_container["resources"] == {
        "limits": {"memory": str(512 * 2**20), "cpu": "1500m"},
        "requests": {"memory": str(256 * 2**20)},
    }
    assert db_container["livenessProbe"]["exec"]["command"][-1] == "pg_isready -U postgres"
    db_pod = db["spec"]["template"]["spec"]
    assert db_pod["hostIPC"] is True
    assert db_pod["securityContext"] == {"supplementalGroups": [70]}
    assert {"name": "dshm", "mountPath": "/dev/shm"} in db_container["volumeMounts"]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": str(256 * 2**20)}} in (
        db_pod["volumes"]
    )
    refs = {e["name"]: e.get("valueFrom") for e in db_container["env"]}
    assert refs["POSTGRES_PASSWORD"] == {
        "secretKeyRef": {"name": "shop-app-secrets", "key": "POSTGRES_PASSWORD"}
    }
    assert refs["API_TOKEN"] == {"secretKeyRef": {"name": "shop-app-secrets", "key": "API_TOKEN"}}
    text = m.to_yaml()
    assert SECRET not in text and SECRET not in json.dumps(m.objects)
    assert "&id" not in text  # no YAML anchors: each object reads on its own
    assert m.kubectl_secret_lines() == [
        "kubectl create secret generic shop-app-secrets "
        "--from-literal=API_TOKEN=... --from-literal=POSTGRES_PASSWORD=...",
        "kubectl create secret generic migrate-token --from-file=content=FILE",
    ]
    assert m.names == {"Shop_App": "shop-app"}
    left = {(r["service"], r["key"]) for r in m.not_converted.to_dict("records")}
    assert {("db", "volumes"), ("web", "ports"), ("web", "depends_on.db"), ("web", "sysctls"),
            ("web", "extra_hosts"), ("migrate", "restart"), ("db", "group_add"),
            ("db", "stop_signal"), ("web", "update_config.failure_action")} <= left  # fmt: skip
    assert ("web", "restart") not in left  # unless-stopped is what a Deployment does


def kinds_of(o: dict) -> tuple[str, str]:  # type: ignore[type-arg]
    return o["kind"], o["metadata"]["name"]


def test_write_gives_one_file_per_object(tmp_path: Path) -> None:
    m = manifests(EVERY_KEY, namespace="shop")
    written = m.write(tmp_path / "k8s")
    assert sorted(p.name for p in written) == sorted(
        f"{o['kind'].lower()}-{o['metadata']['name']}.yaml" for o in m.objects
    )
    back = [yaml.safe_load(p.read_text()) for p in written]
    assert all(o["metadata"].get("namespace") == "shop" for o in back if o["kind"] != "ConfigMap")
    assert "kubectl create secret generic shop-app-secrets -n shop" in m.kubectl_secret_lines()[0]


def test_a_build_only_service_is_not_converted() -> None:
    from infranb.core.kubernetes import convert
    from infranb.core.specs import ContainerSpec

    out = convert("s", [ContainerSpec(name="app", image="s-app")], built=["s-app"])
    assert out.objects == []
    assert out.not_converted[0]["key"] == "build"
    # a service that waits for it gets no init container waiting for a Service never made
    specs = [
        ContainerSpec(name="api", image="s-api", expose=("8000/tcp",)),
        ContainerSpec(name="web", image="web:1", depends_on={"api": "healthy"}),
    ]
    out = convert("s", specs, built=["s-api"], image_tools={"web:1": {"sh", "nc"}})
    (web,) = [o for o in out.objects if o["kind"] == "Deployment"]
    assert "initContainers" not in web["spec"]["template"]["spec"]
    (row,) = [r for r in out.not_converted if r["key"] == "depends_on.api"]
    assert row["reason"].startswith("api is not converted")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_compose_corpus_converts_to_valid_objects(case: Path) -> None:
    m = manifests(load(case))
    assert m.validate() == [], case.name
    assert m.objects or len(m.not_converted)


def test_the_example_notebooks_stacks_convert_to_valid_objects() -> None:
    """Every orchestrate request an example notebook writes out, read from its code with
    the notebook's parameters and the functions it defines."""
    import ast

    found = 0
    for path in sorted(Path("notebooks").glob("*.ipynb")):
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        names: dict[str, object] = {}
        for cell in cells:
            tree = ast.parse("".join(cell["source"]).replace("await ", ""))
            if "parameters" in cell["metadata"].get("tags", []):
                exec(compile(tree, path.name, "exec"), names)  # the parameters cell
            defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
            exec(compile(ast.Module(defs, []), path.name, "exec"), names)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                    continue
                fields = {k.arg: k.value for k in node.keywords}
                if node.func.id != "InfrastructureOperation" or "containers" not in fields:
                    continue
                try:
                    containers = eval(compile(ast.Expression(fields["containers"]), "", "eval"),
                                      dict(names))  # fmt: skip
                except (NameError, TypeError):
                    continue  # made from the notebook's results: the dict stack covers it
                op = InfrastructureOperation(operation="orchestrate_containers",
                                             stack=path.stem, containers=containers)  # fmt: skip
                assert manifests(op).validate() == [], path.name
                found += 1
    assert found >= 6, found  # the requests written out in notebooks 01-13 (6 today)


def test_a_compose_projects_configs_and_secrets(tmp_path: Path) -> None:
    """Shapes seen in stock files (a config file mounted into nginx, a password file as a
    Compose secret, as in the docs' examples); written here, by us."""
    from infranb import compose

    (tmp_path / "site.conf").write_text("server { listen 80; }\n")
    (tmp_path / "db_password.txt").write_text(SECRET + "\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  web:\n    image: nginx:1.27\n"
        "    configs:\n      - source: site\n        target: /etc/nginx/conf.d/site.conf\n"
        "  db:\n    image: postgres:16\n    secrets: [db_password]\n"
        "    environment:\n      POSTGRES_PASSWORD_FILE: /run/secrets/db_password\n"
        "configs:\n  site:\n    file: ./site.conf\n"
        "secrets:\n  db_password:\n    file: ./db_password.txt\n"
    )
    m = manifests(compose.load(tmp_path, environ={}))
    assert m.validate() == []
    config = next(o for o in m.objects if o["kind"] == "ConfigMap")
    assert config["data"] == {"content": "server { listen 80; }\n"}
    assert SECRET not in m.to_yaml()
    assert any("--from-file=content=" in line and "db_password.txt" in line
               for line in m.kubectl_secret_lines())  # fmt: skip


def test_keys_the_compose_reader_does_not_read_are_listed_not_dropped(tmp_path: Path) -> None:
    """Placement constraints and a global mode (shapes of Swarm stack files), a GPU
    reservation and volumes_from: never in the specs, so listed from the project."""
    from infranb import compose

    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  agent:\n    image: agent:1\n    deploy:\n      mode: global\n"
        "      placement:\n        constraints: [node.role == worker]\n"
        "  ml:\n    image: ml:1\n    volumes_from: [agent]\n"
    )
    m = manifests(compose.load(tmp_path, environ={}))
    left = {(r["service"], r["key"]): r["reason"] for r in m.not_converted.to_dict("records")}
    assert "nodeSelector" in left[("agent", "deploy.placement")]
    assert "DaemonSet" in left[("agent", "deploy.mode")]
    assert left[("ml", "volumes_from")].startswith("not read by infranb: ")
    assert m.validate() == []


def test_a_healthy_dependency_becomes_an_init_container_when_the_image_can_wait() -> None:
    from infranb.core.kubernetes import convert
    from infranb.core.specs import parse_containers

    specs, problems = parse_containers([
        {"name": "db", "image": "db:1", "expose": ["5432"]},
        {"name": "api", "image": "app:1", "depends_on": {"db": "healthy"}},
        {"name": "worker", "image": "slim:1", "depends_on": {"db": "healthy", "api": "healthy"}},
    ])  # fmt: skip
    assert not problems
    out = convert("s", specs, image_tools={"app:1": {"sh", "nc"}, "slim:1": {"sh"}})
    api = next(o for o in out.objects if kinds_of(o) == ("Deployment", "api"))
    (wait,) = api["spec"]["template"]["spec"]["initContainers"]
    assert wait["image"] == "app:1"  # the service's own image
    assert wait["command"][-1].startswith("until nc -z -w 1 db 5432 2>/dev/null || nc -w 1")
    reasons = {r["key"]: r["reason"] for r in out.not_converted if r["service"] == "worker"}
    assert "slim:1 has no nc" in reasons["depends_on.db"]
    assert "api has no port" in reasons["depends_on.api"]
    import kubernetes_validate

    kubernetes_validate.validate(api, KUBERNETES_VERSION, strict=True)
    unknown = convert("s", specs)  # no engine looked at the images
    assert any("not on this engine" in r["reason"] for r in unknown.not_converted)


def test_validate_is_strict_an_unknown_field_and_a_wrong_type_are_named() -> None:
    m = manifests(EVERY_KEY)
    deployment = next(o for o in m.objects if kinds_of(o) == ("Deployment", "db"))
    deployment["spec"]["template"]["spec"]["containers"][0]["bogus"] = 1
    service = next(o for o in m.objects if kinds_of(o) == ("Service", "db"))
    service["spec"]["ports"][0]["port"] = "x"
    problems = m.validate()
    assert len(problems) == 2, problems
    (unknown,) = [p for p in problems if p.startswith("Deployment db: ")]
    assert "spec.template.spec.containers.0: " in unknown and "'bogus' was unexpected" in unknown
    assert any(p.startswith("Service db: spec.ports.0.port: 'x' is not of type") for p in problems)


def test_the_html_shows_the_picture_the_names_both_frames_and_no_secret() -> None:
    m = manifests(EVERY_KEY)
    html = m._repr_html_()
    assert "<svg" in html and html.count("<table") == 2
    assert "Shop_App → shop-app" in html
    assert "kubectl create secret generic shop-app-secrets" in html
    # one box per Deployment (web's two containers are one), the arrow to db labelled
    import re

    texts = re.findall(r"<text[^>]*>([^<]*)</text>", m._picture())
    assert texts == ["healthy", "wave 0", "db", "migrate", "wave 1", "web"]
    assert SECRET not in html and SECRET not in repr(m)


def test_a_stack_read_from_an_engine_keeps_secrets_out_and_validates() -> None:
    """A stack as it runs (read as drift reads it): the secret-marked value is read from
    the engine and still becomes a secretKeyRef, never a value."""
    from infranb import InfrastructureManager, InfrastructureManagerConfig
    from infranb.manager import run_sync
    from infranb.testing import MemoryEngine

    base = "infranb-demo/base:1"
    engine = MemoryEngine([base], health_delay=0.02)
    manager = InfrastructureManager(InfrastructureManagerConfig(min_uptime=0.0), engine=engine)
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="shop",
        containers=[
            {"name": "shop-db", "image": base, "command": "sleep 1000",
             "environment": {"DB_PASSWORD": SECRET, "DB_NAME": "shop"},
             "volumes": {"shop-data": "/data"}, "expose": ["5432"]},
            {"name": "shop-web", "image": base, "command": "sleep 1000",
             "ports": {"8080": None}, "depends_on": {"shop-db": "started"}},
        ],
    )  # fmt: skip
    assert run_sync(manager.execute(op)).success
    m = manifests("shop", manager=manager)
    assert m.validate() == []
    assert sorted(kinds(m)) == sorted([
        ("Deployment", "shop-db"), ("Service", "shop-db"), ("Deployment", "shop-web"),
        ("Service", "shop-web"), ("PersistentVolumeClaim", "shop-data"),
    ])  # fmt: skip
    db = next(o for o in m.objects if kinds_of(o) == ("Deployment", "shop-db"))
    env = {e["name"]: e for e in db["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "shop-secrets"
    assert env["DB_NAME"]["value"] == "shop"
    assert SECRET not in m.to_yaml() and SECRET not in m._repr_html_()
    # depends_on read back from Compose's label infranb writes
    left = {(r["service"], r["key"]) for r in m.not_converted.to_dict("records")}
    assert ("shop-web", "depends_on.shop-db") in left


def test_bad_sources_are_refused_in_one_sentence() -> None:
    from infranb import InfrastructureManager, InfrastructureManagerConfig
    from infranb.testing import MemoryEngine

    with pytest.raises(ValueError, match=r"manifests\('shop'\) reads the stack from an engine"):
        manifests("shop")
    manager = InfrastructureManager(InfrastructureManagerConfig(), engine=MemoryEngine())
    with pytest.raises(ValueError, match="stack nowhere has no container on"):
        manifests("nowhere", manager=manager)
    with pytest.raises(
        TypeError, match=r"takes a Compose Project \(infranb.compose.load\), an orchestrate"
    ):
        manifests(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="orchestrate_containers"):
        manifests(InfrastructureOperation(operation="health_check", container_ids=["x"]))


def test_a_service_reached_by_name_gets_its_service_from_the_images_expose() -> None:
    """A database that publishes and exposes nothing (its image says EXPOSE 5432, as the
    official images do): its Service comes from the image when the image was looked at;
    otherwise the row says its dependents could not reach it by name."""
    from infranb.core.kubernetes import convert
    from infranb.core.specs import parse_containers

    specs, _ = parse_containers([
        {"name": "db", "image": "postgres:16"},
        {"name": "app", "image": "app:1", "depends_on": {"db": "started"}},
    ])  # fmt: skip
    looked = convert("shop", specs, image_ports={"postgres:16": ("5432/tcp",)})
    service = next(o for o in looked.objects if o["kind"] == "Service")
    assert service["spec"]["ports"][0]["port"] == 5432
    assert {"service": "db", "kind": "Service", "name": "db",
            "from": "the image's EXPOSE, name"} in looked.converted  # fmt: skip
    blind = convert("shop", specs)
    assert not [o for o in blind.objects if o["kind"] == "Service"]
    (row,) = [r for r in blind.not_converted if r["key"] == "name"]
    assert row["service"] == "db" and "its dependents cannot reach it by name" in row["reason"]


def test_a_one_shot_others_wait_to_complete_is_a_job() -> None:
    """A migration that the app waits for (service_completed_successfully, the shape of
    stock files with an init or migrate service): a Job that runs it once, or again on
    failure as often as on-failure:N says; never a Deployment that would run it forever."""
    request = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="shop",
        containers=[
            {"name": "migrate", "image": "app:1", "command": "python migrate.py"},
            {"name": "seed", "image": "app:1", "command": "python seed.py",
             "restart": "on-failure:3"},
            {"name": "app", "image": "app:1", "expose": ["8000"],
             "depends_on": {"migrate": "completed_successfully",
                            "seed": "completed_successfully"}},
        ],
    )  # fmt: skip
    m = manifests(request)
    assert m.validate() == []
    jobs = {o["metadata"]["name"]: o for o in m.objects if o["kind"] == "Job"}
    assert sorted(jobs) == ["migrate", "seed"]
    assert jobs["migrate"]["spec"]["backoffLimit"] == 0
    assert jobs["migrate"]["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert jobs["seed"]["spec"]["backoffLimit"] == 3
    assert jobs["seed"]["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    assert [o["metadata"]["name"] for o in m.objects if o["kind"] == "Deployment"] == ["app"]
    left = {(r["service"], r["key"]): r["reason"] for r in m.not_converted.to_dict("records")}
    assert "migrate is a Job" in left[("app", "depends_on.migrate")]
    assert ("migrate", "name") not in left  # nobody reaches a one-shot by name


def test_names_that_map_to_one_dns_name_stay_apart() -> None:
    """web_1 and web-1 (both valid Compose names) would both be web-1: the second is
    web-1-2, and the mapping says so; two volumes likewise (never one claim for both);
    an 80-character name is cut to 63; a ConfigMap carries the labels and the namespace."""
    request = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="s",
        containers=[
            {"name": "web_1", "image": "a:1", "expose": ["80"], "volumes": {"db_data": "/d"},
             "files": {"/etc/a/app.conf": {"content": "a"}, "/etc/b/app.conf": {"content": "b"}}},
            {"name": "web-1", "image": "a:1", "expose": ["80"], "volumes": {"db-data": "/e"}},
            {"name": "x" * 80, "image": "a:1"},
        ],
    )  # fmt: skip
    m = manifests(request, namespace="shop")
    assert m.validate() == []
    names = [(o["kind"], o["metadata"]["name"]) for o in m.objects]
    assert len(names) == len(set(names)), names
    assert {n for k, n in names if k == "Deployment"} == {"web-1", "web-1-2", "x" * 63}
    assert {n for k, n in names if k == "PersistentVolumeClaim"} == {"db-data", "db-data-2"}
    assert {n for k, n in names if k == "ConfigMap"} == {"web-1-app-conf", "web-1-app-conf-2"}
    assert m.names["web-1"] == "web-1-2" and m.names["db-data"] == "db-data-2"
    config = next(o for o in m.objects if o["kind"] == "ConfigMap")
    assert config["metadata"]["namespace"] == "shop"
    assert config["metadata"]["labels"]["app.kubernetes.io/part-of"] == "s"
    assert all(o["metadata"].get("namespace") == "shop" for o in m.objects)


def test_an_engine_that_does_not_answer_is_said_once_or_raised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As the manager's helpers do: with no_engine="note" one line, and the manifests
    without the images' look (what needed it is listed); by default EngineUnavailable."""
    from infranb import InfrastructureManager, InfrastructureManagerConfig
    from infranb.core.errors import EngineUnavailable

    nowhere = "tcp://127.0.0.1:1"  # nothing listens there
    noting = InfrastructureManager(InfrastructureManagerConfig(docker_host=nowhere,
                                                               no_engine="note"))  # fmt: skip
    m = manifests(EVERY_KEY, manager=noting)
    assert "The images were not looked at" in capsys.readouterr().out
    assert m.validate() == [] and ("web", "depends_on.db") in {
        (r["service"], r["key"]) for r in m.not_converted.to_dict("records")
    }
    assert manifests("shop", manager=noting).objects == []
    assert "Skipped: manifests('shop')" in capsys.readouterr().out
    raising = InfrastructureManager(InfrastructureManagerConfig(docker_host=nowhere))
    with pytest.raises(EngineUnavailable):
        manifests(EVERY_KEY, manager=raising)
