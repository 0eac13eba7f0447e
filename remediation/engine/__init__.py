"""The run: discovery, workspaces, reconcile, the change log, recording observations and resolving cluster names, orchestrating the core against a gateway protocol.

Imported by ``app`` and ``cli``; it imports ``core`` and never an Azure SDK or an adapter in ``azure``.
"""
