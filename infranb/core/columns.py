"""Which columns of a frame a notebook shows first (the others are one click away)."""

#: the ``attrs`` key naming the columns a frame's HTML shows first (pandas keeps ``attrs``
#: through selections and filters)
FIRST = "infranb.first"
#: the ``attrs`` key of the charts a frame's HTML draws above its table (column -> title),
#: from its ``time`` and ``name`` columns
CHART = "infranb.chart"
#: the columns a result's and a plan's default view shows (the rest are one click away):
#: what each container is, what happened to it, its state, what changed or is wrong.
#: The other operations' tables are narrow enough to show whole.
RESULT_FIRST = {
    "orchestrate_containers": ("name", "action", "state", "health", "seconds_to_ready"),
    "health_check": ("name", "status", "exit_code", "failing_streak", "last_output"),
}
PLAN_FIRST = ("wave", "name", "action", "reason", "warnings")
