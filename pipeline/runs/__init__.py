"""Scheduled runs: schedules (rate or cron), per-detection state, the scheduler's ticks.

The scheduler runs the detections it is given plus any tick jobs registered with it (log file
validation registers one from ``pipeline.integrity``), so it imports nothing above it.
May import: ``detections``, ``findings``, ``sinks``, ``engines``, ``source`` and the shared modules.
"""
