"""Azure adapters: the ARM gateway (management SDKs) and the change ledger (Azure Tables); the only users of Azure SDKs.

Imported only by the composition roots (``app.runtime``, ``cli.run``); the engine sees them through its protocols.
"""
