"""``infranb.widgets``: the ipywidgets forms (the documented path; the code lives in
``infranb.notebook.widgets`` and ``infranb.notebook.updates_form``). Importing this module
loads ipywidgets; ``import infranb`` does not.

    from infranb.widgets import operation_form, updates_form
    operation_form(manager)
    updates_form(manager, stack="shop")   # the containers behind their registry
"""

from infranb.notebook import widgets as _forms
from infranb.notebook.widgets import *  # noqa: F403 - the forms' public names, as they are there

__all__ = _forms.__all__
