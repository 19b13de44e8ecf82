"""Compose files as input: ``load`` a project, see it as tables, run it with infranb.

    from infranb import compose
    project = compose.load("compose.yaml")
    project.to_frame(); project.unsupported
    result = manager.up(project)          # builds, pulls, orchestrates; one rollback for all

The loader is infranb's own (PyYAML plus the compose-spec rules); see the README's layout
section for why, and ``tests/compose`` for the corpus checked against ``docker-compose config``.
"""

from infranb.inputs.compose.project import Project, Unsupported, load

__all__ = ["Project", "Unsupported", "load"]
