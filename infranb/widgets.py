"""``infranb.widgets``: the ipywidgets forms (the documented path; the code lives in
``infranb.notebook.widgets``). Importing this module loads ipywidgets; ``import infranb`` does not.

    from infranb.widgets import operation_form
    operation_form(manager)
"""

from infranb.notebook import widgets as _forms
from infranb.notebook.widgets import *  # noqa: F403 - the forms' public names, as they are there

__all__ = _forms.__all__
