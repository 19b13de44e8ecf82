"""``infranb.widgets``: the ipywidgets forms (the documented path; the code lives in
``infranb.notebook.widgets``). Importing this module loads ipywidgets; ``import infranb`` does not.

    from infranb.widgets import operation_form
    operation_form(manager)
"""

from infranb.notebook.widgets import (
    CleanupForm,
    ContainerRow,
    DeployStackForm,
    HealthCheckForm,
    ImageForm,
    OrchestrateForm,
    operation_form,
)

__all__ = [
    "CleanupForm",
    "ContainerRow",
    "DeployStackForm",
    "HealthCheckForm",
    "ImageForm",
    "OrchestrateForm",
    "operation_form",
]
