"""Configuration: the settings catalogue, the typed values it yields, and the parser between them.

- :mod:`remediation.config.settings`: every ``REMEDIATION_*`` variable (name, default, meaning).
- :mod:`remediation.config.values`: :class:`~remediation.config.values.Config` and the value types it holds.
- :mod:`remediation.config.parse`: ``load_config`` and the Function app's own settings' parsers;
  every error a :class:`~remediation.errors.ConfigError` naming its variable.

Import each name from its module; this package re-exports nothing.
"""
