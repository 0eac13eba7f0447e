"""The engine: one pipeline for sweeps and events, orchestrating the core against its ports.

A run chooses its clusters (``scope``: a sweep lists them, an event names one), then every
cluster goes through the same stages (``cluster``: observe, assess, remediate), and the run ends
the same way (``finish``: verify the flow, keep the audit table's plan, record the report).
``sweep`` and ``event`` are the two entry points; ``response`` says what each trigger answers.
See docs/architecture.md.

Imported by ``app`` and ``cli``; it imports ``core`` and never an Azure SDK or an adapter in
``azure`` (those implement ``ports``).
"""
