"""Evidence checks: CloudTrail digest validation (what ``aws cloudtrail validate-logs`` does,
organization-wide), the public keys it trusts, ``log_file_tampered`` findings and the tick job
that runs validation inside scheduled runs.

May import: ``runs`` (the tick-job interface only), ``findings``, ``sinks``, ``source`` and the
shared modules.
"""
