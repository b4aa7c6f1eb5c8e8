#!/usr/bin/env python3
"""Build the response function's Lambda zip: ``dist/trailguard-response.zip``.

Offline by design: nothing is downloaded. The ``pipeline`` package comes from this checkout, and
its dependencies (DEPENDENCIES below, plus what they require) are copied from the Python
environment running this script, using each distribution's installed file list. That only makes
a working zip if this Python matches the Lambda runtime, so the script refuses a mismatch unless
told otherwise: CPython 3.11 on linux x86_64 for the ``python3.11`` runtime, x86_64 architecture.

boto3, botocore, s3transfer, jmespath, python-dateutil, urllib3 and six are NOT packaged: the
Lambda Python runtime ships them (pin them in a layer if you need a newer boto3). ``--no-deps``
packages only ``pipeline``; then pandas, numpy and PyYAML must come from a layer (the AWS SDK for
pandas managed layer provides pandas and numpy; PyYAML is small enough to add to any layer).

Handler: ``pipeline.response.handler.handler``.

    python scripts/package_response.py [--no-deps] [--output dist/trailguard-response.zip]
"""

from __future__ import annotations

import argparse
import re
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What `import pipeline.response.handler` needs beyond the standard library and the runtime's SDK.
DEPENDENCIES = ["pandas", "numpy", "PyYAML"]
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"}
RUNTIME = ((3, 11), "linux-x86_64")
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
_SKIP = re.compile(r"(^|/)(__pycache__|tests?)(/|$)|\.pyc$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: metadata.Distribution) -> list[str]:
    """Names of the distribution's unconditional requirements (extras and other platforms skipped)."""
    names = []
    for text in dist.requires or []:
        spec, _, marker = text.partition(";")
        if "extra" in marker:
            continue
        if marker.strip():
            try:
                from packaging.markers import Marker

                if not Marker(marker.strip()).evaluate():
                    continue
            except ImportError:  # without packaging, keep it: an extra file beats a missing module
                pass
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        if match:
            names.append(match.group(1))
    return names


def closure(names: list[str]) -> list[metadata.Distribution]:
    """The installed distributions for ``names`` and their requirements, minus the runtime's own."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = _norm(name)
        if key in seen or key in RUNTIME_PROVIDED:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            sys.exit(f"package_response: {name} is not installed here; install it or use --no-deps")
        seen[key] = dist
        todo.extend(_requirements(dist))
    return list(seen.values())


def _add_tree(archive: zipfile.ZipFile, source: Path, prefix: str) -> int:
    total = 0
    for path in sorted(source.rglob("*")):
        relative = f"{prefix}/{path.relative_to(source).as_posix()}"
        if path.is_file() and not _SKIP.search(relative):
            archive.write(path, relative)
            total += path.stat().st_size
    return total


def build(output: Path, with_deps: bool) -> tuple[int, list[str]]:
    """Write the zip; return its unzipped size and the packaged distribution names."""
    output.parent.mkdir(parents=True, exist_ok=True)
    dists = closure(DEPENDENCIES) if with_deps else []
    size = 0
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        size += _add_tree(archive, ROOT / "pipeline", "pipeline")
        for dist in dists:
            for file in dist.files or []:
                name = file.as_posix()
                if name.startswith("..") or name.startswith("/") or _SKIP.search(name):
                    continue  # scripts installed outside site-packages, caches
                located = Path(str(dist.locate_file(file)))
                if located.is_file():
                    archive.write(located, name)
                    size += located.stat().st_size
    return size, [f"{d.metadata['Name']}=={d.version}" for d in dists]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "trailguard-response.zip")
    parser.add_argument("--no-deps", action="store_true", help="package only pipeline (deps from a layer)")
    parser.add_argument("--allow-platform-mismatch", action="store_true",
                        help="copy compiled dependencies even if this Python is not the Lambda runtime's")
    args = parser.parse_args(argv)
    here = (sys.version_info[:2], sysconfig.get_platform())
    if not args.no_deps and here != RUNTIME and not args.allow_platform_mismatch:
        print(f"package_response: this is Python {here[0]} on {here[1]}, the runtime is {RUNTIME}; "
              "compiled dependencies would not load there. Use --no-deps and a layer.", file=sys.stderr)
        return 2
    size, dists = build(args.output, not args.no_deps)
    print(f"wrote {args.output} ({size / 1e6:.1f} MB unzipped); handler pipeline.response.handler.handler")
    print("packaged: pipeline" + "".join(f", {d}" for d in dists))
    print("from the Lambda runtime: boto3, botocore (not packaged)")
    if size > LAMBDA_UNZIPPED_LIMIT:
        print("package_response: over Lambda's 250 MB unzipped limit; use --no-deps and a layer",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
