"""Where the logs are: the bucket's key layout, S3 listing and sync, reading GuardDuty exports.

Owns the one description of how CloudTrail and GuardDuty name their objects
(``AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/...``) and the one S3 listing helper.
May import: ``config``, ``errors``, ``times``, ``paths``. Nothing else in ``pipeline``.
"""
