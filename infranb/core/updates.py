"""Which order a running container is replaced in: start-first (the new one answers before
the old one stops) wherever two copies can safely run at once, else stop-first. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from infranb.core.specs import ContainerSpec, Order


def start_first_blockers(spec: ContainerSpec, image_volumes: Sequence[str] | None) -> list[str]:
    """Why two copies of ``spec`` cannot run at once (empty: they can), each a clause that
    follows "it": a host port, a shared network stack, a fixed address, devices, or a
    writable mount (two writers on one volume). ``image_volumes``: the image's declared
    ``VOLUME``s (None: unknown, the image is not here yet)."""
    found = []
    if spec.ports:
        found.append("publishes " + ", ".join(str(p) for p in spec.ports) + " on the host")
    mode = spec.network_mode or ""
    if mode == "host" or mode.startswith(("container:", "service:")):
        found.append(f"uses network_mode {mode}")
    if spec.addresses:
        found.append("has a fixed IP address on " + ", ".join(sorted(spec.addresses)))
    if spec.mac_address:
        found.append("has a fixed MAC address")
    if spec.devices:
        found.append("uses devices " + ", ".join(spec.devices))
    writable = [m for m in spec.volumes if not m.read_only]
    for mount in writable:
        what = {"bind": "bind mount", "volume": "volume" if mount.source else "anonymous volume"}
        source = f" {mount.source}" if mount.source else ""
        found.append(f"mounts the {what[mount.kind]}{source} writable at {mount.target}")
    mounted = {m.target for m in spec.volumes}
    for path in image_volumes or ():
        if path not in mounted:
            found.append(f"has its image's VOLUME {path} (an anonymous volume it keeps)")
    return found


def choose_order(
    spec: ContainerSpec, image_volumes: Sequence[str] | None, default: str
) -> tuple[Order, str]:
    """The order a running container is replaced in, and the sentence that says why (empty
    for the plain default). ``default`` is ``config.update_order``."""
    policy = spec.update_config
    asked = (policy.order if policy and policy.order else None) or default
    if asked == "stop-first":
        return "stop-first", ""
    blockers = start_first_blockers(spec, image_volumes)
    if blockers:
        why = "start-first was asked" if asked == "start-first" else "update_order is auto"
        return "stop-first", (
            f"stop-first: {why}, but two copies cannot run at once: it {'; it '.join(blockers)}"
        )
    source = "its update_config" if policy and policy.order else f"update_order {asked}"
    sentence = f"start-first ({source}): the new container answers before the old one stops"
    if image_volumes is None:
        sentence += "; its image is pulled first, and a VOLUME it declares makes it stop-first"
    return "start-first", sentence
