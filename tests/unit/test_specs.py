from __future__ import annotations

import pytest

from infranb.core.secrets import secret_from_env
from infranb.core.specs import (
    Mount,
    PortBinding,
    SpecProblem,
    changed_fields,
    decode_fingerprints,
    encode_fingerprints,
    parse_container,
    parse_containers,
    parse_duration,
    parse_ports,
    parse_volumes,
    spec_hash,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (5, 5.0),
        (0.5, 0.5),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        ("2h", 7200.0),
        ("1.5s", 1.5),
        ("0s", 0.0),  # the engine's default, as Compose writes it (start_period: 0s)
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text, "x") == seconds


@pytest.mark.parametrize("bad", ["", "5 seconds", "ms", "1x", True, None, "100us", -1])
def test_bad_durations_name_the_field(bad: object) -> None:
    with pytest.raises(SpecProblem, match=r"^hc\.interval: "):
        parse_duration(bad, "hc.interval")


def test_ports_in_every_form() -> None:
    assert parse_ports({"80": "8080"}, "p") == (PortBinding(80, "tcp", 8080, ""),)
    assert parse_ports({"53/udp": ("127.0.0.1", 5353)}, "p") == (
        PortBinding(53, "udp", 5353, "127.0.0.1"),
    )
    assert parse_ports(["8080:80", "127.0.0.1:9090:90/udp", "70"], "p") == (
        PortBinding(80, "tcp", 8080, ""),
        PortBinding(90, "udp", 9090, "127.0.0.1"),
        PortBinding(70, "tcp", None, ""),
    )
    assert parse_ports({"80": None}, "p") == (PortBinding(80, "tcp", None, ""),)


@pytest.mark.parametrize("bad", [{"80": "x"}, {"0": 80}, ["8080:99999"], {"80/icmp": 1}, "80"])
def test_bad_ports(bad: object) -> None:
    with pytest.raises(SpecProblem, match=r"^c\.ports: "):
        parse_ports(bad, "c.ports")


def test_volumes_named_bind_and_read_only(tmp_path) -> None:
    mounts = parse_volumes({"db-data": "/var/lib/db", str(tmp_path): "/src:ro"}, "v")
    assert mounts == (
        Mount("db-data", "/var/lib/db", "volume", False),
        Mount(str(tmp_path), "/src", "bind", True),
    )
    assert parse_volumes(["data:/d", "./x:/x:ro"], "v")[1].kind == "bind"
    assert parse_volumes({"data": {"bind": "/d", "mode": "ro"}}, "v")[0].read_only


def test_a_volume_takes_a_relabel_and_a_bind_its_propagation(tmp_path) -> None:
    """Issue 43: Compose passes ``:Z`` on a named volume (an ELK stack's and a mail
    suite's stock files use it) and a bind's propagation (``ro,rslave`` in node
    exporter's example); the request dicts take both as the files do."""
    mounts = parse_volumes(["data:/d:Z", "logs:/l:ro,Z"], "v")
    assert mounts == (
        Mount("data", "/d", "volume", False, ("Z",)),
        Mount("logs", "/l", "volume", True, ("Z",)),
    )
    assert parse_volumes({"cache": {"bind": "/c", "mode": "z"}}, "v")[0].options == ("z",)
    [host] = parse_volumes([f"{tmp_path}:/host:ro,rslave"], "v")
    assert (host.kind, host.read_only, host.options) == ("bind", True, ("rslave",))
    assert str(host) == f"{tmp_path}:/host:ro,rslave"


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (["data:/d:rshared"], "rshared is a host path's propagation; a volume has none"),
        (["data:/d:z,Z"], "two relabels"),
        (["./x:/x:shared,slave"], "two propagations"),
    ],
)
def test_mount_modes_that_cannot_apply_are_refused(bad: object, said: str) -> None:
    with pytest.raises(SpecProblem, match=said):
        parse_volumes(bad, "v")


@pytest.mark.parametrize(
    "bad",
    [
        {"data": "relative"},
        ["nocolon"],
        {"bad name": "/d"},
        {"a": "/d", "b": "/d"},
        {"data": "/d:rx"},
    ],
)
def test_bad_volumes(bad: object) -> None:
    with pytest.raises(SpecProblem):
        parse_volumes(bad, "v")


def test_full_container_spec() -> None:
    spec = parse_container(
        {
            "image": "infranb-demo/web:1",
            "name": "web",
            "command": ["sh", "-c", "true"],
            "environment": {"A": 1, "PASSWORD": secret_from_env("X")},
            "ports": {"80": "8080"},
            "networks": ["app"],
            "depends_on": {
                "db": {"condition": "service_healthy"},
                "init": "completed_successfully",
            },
            "healthcheck": {"test": "wget -q localhost", "interval": "500ms", "retries": 2},
            "labels": {"team": "ops"},
            "restart": "on-failure:3",
            "mem_limit": "64m",
            "cpus": 0.5,
            "init": True,
            "extra_hosts": ["db.local:127.0.0.1"],
        },
        0,
    )
    assert spec.command == ("sh", "-c", "true")
    assert spec.environment["A"] == "1"
    assert spec.depends_on == {"db": "healthy", "init": "completed_successfully"}
    assert spec.healthcheck is not None
    assert spec.healthcheck.test == ("CMD-SHELL", "wget -q localhost")
    assert spec.healthcheck.interval == 0.5
    assert spec.mem_limit == 64 * 1024**2
    assert spec.extra_hosts == {"db.local": "127.0.0.1"}


def test_unknown_key_names_close_match() -> None:
    with pytest.raises(SpecProblem, match=r"containers\[0\] \(web\)\.enviroment: .*'environment'"):
        parse_container({"image": "x", "name": "web", "enviroment": {}}, 0)


@pytest.mark.parametrize("name", ["a", "-web", "we b", "web/x", "..", "é", "x" * 200, ""])
def test_bad_names(name: str) -> None:
    with pytest.raises(SpecProblem, match="name"):
        parse_container({"image": "x", "name": name}, 0)


def test_reserved_labels_rejected() -> None:
    with pytest.raises(SpecProblem, match="infranb"):
        parse_container({"image": "x", "name": "ab", "labels": {"infranb.stack": "s"}}, 0)


def test_request_level_checks() -> None:
    _, problems = parse_containers(
        [
            {"image": "x", "name": "web", "ports": ["8080:80"], "depends_on": ["db"]},
            {"image": "x", "name": "web"},
            {"image": "x", "name": "api", "ports": {"81": "8080"}},
        ]
    )
    text = "\n".join(problems)
    assert "used twice" in text
    assert "'db' is not a container of this request" in text
    assert "host port 8080/tcp is already published by 'web'" in text


def test_fingerprints_name_the_changed_variable() -> None:
    spec = parse_container({"image": "x", "name": "db"}, 0)
    old = spec.field_fingerprints({"A": "1", "B": "2"})
    new = spec.field_fingerprints({"A": "1", "B": "3"})
    assert changed_fields(old, new) == ["environment.B"]
    assert decode_fingerprints(encode_fingerprints(old)) == old
    assert spec_hash(old) != spec_hash(new)
    assert spec_hash(old) == spec_hash(dict(reversed(list(old.items()))))
