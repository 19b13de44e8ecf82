"""Which columns of a frame a notebook shows first (the others are one click away)."""

#: the ``attrs`` key naming the columns a frame's HTML shows first (pandas keeps ``attrs``
#: through selections and filters)
FIRST = "infranb.first"
#: the ``attrs`` key of the charts a frame's HTML draws above its table (column -> title),
#: from its ``time`` and ``name`` columns
CHART = "infranb.chart"
#: the columns a plan's default view shows (the rest are one click away): what each
#: container is, what happens to it, why, what is wrong. A result's are its operation's
#: (``Operation.first_columns``).
PLAN_FIRST = ("wave", "name", "action", "reason", "warnings")
