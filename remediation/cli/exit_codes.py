"""The CLI's exit codes, in one place (precedence 4 > 2 > 3 > 1 > 0)."""

from __future__ import annotations

EXIT_OK = 0  # every cluster in scope compliant, remediated or excluded, and nothing failed
EXIT_WORK_REMAINS = 1  # some clusters non_compliant, deferred or blocked
EXIT_USAGE = 2  # invalid usage or configuration: nothing was written
EXIT_FAILED = 3  # a cluster failed, a subscription could not be read, the ledger missed a record, no credential
EXIT_INTERNAL = 4  # an unexpected exception (a bug): one line on stderr, the traceback with -v
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT): the clusters in flight finished, the changes made are listed
