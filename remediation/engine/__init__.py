"""The run: discovery, workspaces, reconcile, the change log and recording observations, orchestrating the core against a gateway protocol.

Imported by ``app`` and ``cli``; it imports ``core`` and never an Azure SDK or an adapter in ``azure``.
"""
