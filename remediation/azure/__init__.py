"""Azure adapters, the only users of Azure SDKs: the ARM gateway (management SDKs), the change ledger and
the state table (Azure Tables), the sweep queue (Azure Queues), and the storage account they share.

Imported only by the composition roots (``app.runtime``, ``cli.run``); the engine sees them through its protocols.
"""
