"""Inputs other than Python dicts that become infranb requests (``inputs.compose``: Compose
files). Each reads its format into the core's specs; none talks to an engine."""
