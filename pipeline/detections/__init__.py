"""The detection library: one ``queries/detections/<id>.sql`` per detection, its spec and header,
lint, examples, coverage, suppressions, the run over a window (with the shared pass for
single-record detections) and the scan guard in front of Athena.

May import: ``findings``, ``lake``, ``engines``, ``catalog``, ``source`` and the shared modules.
"""
