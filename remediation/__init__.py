"""aks-audit-remediation: keep AKS control-plane audit logs flowing to Log Analytics."""

__version__ = "0.1.0"
