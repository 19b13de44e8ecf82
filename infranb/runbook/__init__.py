"""Runbooks run headless: ``infranb report`` runs a notebook with papermill and leaves an
offline HTML report beside the executed notebook (``runner``)."""
