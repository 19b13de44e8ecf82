"""A request's environments and files as the containers get them: secret references read
(``secret_from_env``, ``secret_from_file``, a Compose ``.env``), every secret value added to
the run's masks. Shared by ``orchestrate_containers`` and ``deploy_stack``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core.errors import Problem, ValidationError
from infranb.core.secrets import SecretRef, is_secret_key
from infranb.core.specs import ContainerSpec, spec_problem
from infranb.inputs.compose.interpolation import env_file_values

if TYPE_CHECKING:
    from infranb.runtime import Runtime


def resolve_environments(specs: Sequence[ContainerSpec], rt: Runtime) -> dict[str, dict[str, str]]:
    """Read secret references; every secret value joins the runtime's redactor."""
    environments: dict[str, dict[str, str]] = {}
    secrets: list[str] = []
    problems: list[Problem] = []
    for index, spec in enumerate(specs):
        env: dict[str, str] = {}
        for key, value in spec.environment.items():
            if isinstance(value, SecretRef):
                try:
                    env[key] = value.resolve(env_file_values)
                except LookupError as e:
                    problems.append(spec_problem(index, spec.name, f"environment.{key}", str(e)))
                    continue
                secrets.append(env[key])
            else:
                env[key] = value
                if is_secret_key(key, rt.config.secret_markers):
                    secrets.append(value)
        environments[spec.name] = env
    if problems:
        raise ValidationError(problems)
    rt.redact = rt.redact.extend(secrets, identifiers_of(specs))
    return environments


def resolve_files(specs: Sequence[ContainerSpec], rt: Runtime) -> dict[str, dict[str, str]]:
    """The contents of each spec's files, secret references read (their values masked in
    every output from now on); a missing one is a problem naming the file."""
    contents: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    secrets: list[str] = []
    for index, spec in enumerate(specs):
        found: dict[str, str] = {}
        for path, file in spec.files.items():
            if isinstance(file.content, SecretRef):
                try:
                    found[path] = file.content.resolve(env_file_values)
                except LookupError as e:
                    problems.append(spec_problem(index, spec.name, f"files.{path}", str(e)))
                    continue
                secrets.append(found[path])
            else:
                found[path] = file.content
        contents[spec.name] = found
    if problems:
        raise ValidationError(problems)
    rt.redact = rt.redact.extend(secrets)
    return contents


def identifiers_of(specs: Sequence[ContainerSpec]) -> list[str]:
    """What a request names (containers, services, images, networks, volumes, paths,
    hosts): free text keeps these as written, whatever secret they contain."""
    found: list[str] = []
    for spec in specs:
        found += [spec.name, spec.service_name, spec.image, *spec.networks]
        found += [part for m in spec.volumes for part in (m.source, m.target)]
        found += [h for h in (spec.hostname, spec.working_dir, spec.user) if h]
    return found
