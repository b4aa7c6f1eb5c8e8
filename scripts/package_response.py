#!/usr/bin/env python3
"""The response function's zip only (``dist/trailguard-response.zip``): kept for old instructions.

``make package`` (scripts/package_lambda.py) builds both zips, reproducibly; this is the same
build restricted to the response bundle. Handler: ``pipeline.response.handler.handler``.

    python scripts/package_response.py [--no-deps] [--output dist/trailguard-response.zip]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from package_lambda import main  # noqa: E402 - the script folder is not a package

if __name__ == "__main__":
    raise SystemExit(main(only=("response",)) if "--output" not in sys.argv
                     else main(["--only", "response", *sys.argv[1:]]))
