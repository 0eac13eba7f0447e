"""The decision core: the observed-state model, compliance, the planner, the evidence and explanations, change records, the report document,
the status model (what a run observed, the status document) and the signals (the log records infra's alerts
and workbook query).

Pure functions and values, no I/O, no Azure SDK, no logging; anything may import it, it imports only ``config``.
"""
