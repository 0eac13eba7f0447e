"""The decision core: the observed-state model, compliance, the planner, change records and the report document.

Pure functions and values, no I/O, no Azure SDK, no logging; anything may import it, it imports only ``config``.
"""
