"""The Function app's logic behind ``function_app.py``: events, event handler, HTTP API, sweep (the fan-out and the per-subscription sweep), telemetry, and the runtime.

``runtime`` is the app's composition root (the only module here that builds Azure adapters); nothing in the product imports ``app``.
"""
