"""The Parquet lake: ingest of raw bucket files, normalisation of odd records, part files written
whole, and compaction (locally with DuckDB, on Athena with UNLOAD).

May import: ``engines``, ``catalog``, ``source`` and the top-level shared modules.
"""
