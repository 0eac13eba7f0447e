"""Small helpers that import nothing of the product (an import-linter contract keeps it so).

- :mod:`~remediation.kit.clock`: where time comes from (real time, or a clock the run's starter passes);
- :mod:`~remediation.kit.deadline`: the time budget of one run, and every wait bounded by it;
- :mod:`~remediation.kit.interrupt`: Ctrl-C as a request a run reads, never an exception inside a lock;
- :mod:`~remediation.kit.once`: a value per key computed exactly once across threads;
- :mod:`~remediation.kit.timeout`: work run with a time limit, abandoned (not killed) past it.
"""
