"""A stack's manifests read from the Docker engine as it runs (issue 47): its dependency
comes back from the depends_on label, the image look (a container created from the image,
never started) finds sh and nc, so the dependency becomes an init container; a port the
image declares makes a Service; the secret value read from the engine is never written."""

from __future__ import annotations

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.kubernetes import manifests
from tests.conftest import Census
from tests.integration.conftest import BASE, WEB

SECRET = "k8s-docker-never-written"


def test_a_running_stack_becomes_valid_manifests_with_its_wait(
    manager: InfrastructureManager, census: Census, stack: str
) -> None:
    request = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {"name": f"{stack}-db", "image": BASE, "command": ["sleep", "300"],
             "stop_signal": "SIGKILL", "expose": ["5432"],
             "environment": {"DB_PASSWORD": SECRET},
             "healthcheck": {"test": ["CMD", "true"], "interval": "1s"}},
            {"name": f"{stack}-web", "image": WEB, "depends_on": {f"{stack}-db": "healthy"}},
        ],
    )  # fmt: skip
    result = manager.run(request)
    assert result.success, result.error
    before = Census.take(manager.engine)

    m = manifests(stack, manager=manager)

    assert Census.take(manager.engine) == before  # the image look left nothing
    assert m.validate() == []
    web = next(o for o in m.objects if o["kind"] == "Deployment" and "web" in o["metadata"]["name"])
    (init,) = web["spec"]["template"]["spec"]["initContainers"]
    assert f"nc -w 1 {stack}-db 5432" in init["command"][-1]
    services = {o["metadata"]["name"] for o in m.objects if o["kind"] == "Service"}
    assert services == {f"{stack}-db", f"{stack}-web"}  # web's from its image's EXPOSE 80
    db = next(o for o in m.objects if o["kind"] == "Deployment" and o is not web)
    env = {e["name"]: e for e in db["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "secretKeyRef" in env["DB_PASSWORD"]["valueFrom"]
    assert SECRET not in m.to_yaml() and SECRET not in m._repr_html_()
