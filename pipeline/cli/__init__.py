"""The ``trailguard`` command line: one module per command group, a thin layer over the library.

``main`` holds the app and the core commands; ``common`` what every command shares (the config
option, one-line errors, time parsing); ``console`` rich output. Only this package may import
``pipeline.demo``. May import anything in ``pipeline``.
"""

from pipeline.cli.main import app

__all__ = ["app"]
