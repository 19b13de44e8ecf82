"""The pure core: errors, labels, records, secrets, request specs, config, planning, frames.

Nothing here talks to an engine or imports anything above ``infranb.core``; every function
takes plain data and is tested without an engine.
"""
