"""``infranb.compose``: Compose files as input (the documented path; the code lives in
``infranb.inputs.compose``).

    from infranb import compose
    project = compose.load("compose.yaml")
"""

from infranb.inputs.compose import Project, Unsupported, load

__all__ = ["Project", "Unsupported", "load"]
