#!/usr/bin/env python3
"""Build both Lambda zips, reproducibly: ``dist/trailguard-runner.zip`` and ``dist/trailguard-response.zip``.

Reproducible means the same inputs give the same bytes: entries are sorted, every entry has the
same timestamp (1980-01-01, the earliest a zip can hold), the same permissions (0644, 0755 for
directories) and the same compression, and nothing machine-specific (``__pycache__``, ``.pyc``)
goes in. Terraform's ``source_code_hash`` is the zip's SHA-256, so rebuilding from an unchanged
checkout leaves ``terraform plan`` with nothing to do.

Offline by design: nothing is downloaded. Each zip holds ``pipeline/`` plus the project files the
code reads at run time (``queries/``, ``glue/`` and ``rules/``, found through :mod:`pipeline.paths`), and the
dependencies copied from the Python environment running this script, using each distribution's
installed file list. That only makes a working zip if this Python matches the Lambda runtime, so
the script refuses a mismatch unless told otherwise: CPython 3.11 on linux x86_64 for the
``python3.11`` runtime, x86_64 architecture.

Shared libraries are stripped of their symbol tables (``strip --strip-unneeded``; GNU binutils),
and pyarrow modules nothing here loads are left out: that is what makes room for DuckDB, which the
runner needs for the hot tier, under Lambda's 250 MB unzipped limit (docs/incremental-athena.md).

boto3, botocore, s3transfer, jmespath, python-dateutil, urllib3 and six are NOT packaged: the
Lambda Python runtime ships them. ``--no-deps`` packages only the project; the dependencies must
then come from a layer (the AWS SDK for pandas managed layer provides pandas, numpy and pyarrow).

Handlers: runner ``pipeline.lambda_handler.handler``, response ``pipeline.response.handler.handler``.

    python scripts/package_lambda.py [--no-deps] [--only runner|response] [--dist dist]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"}
RUNTIME = ((3, 11), "linux-x86_64")
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = stat.S_IFREG | 0o644
STRIP = shutil.which("strip") or "strip"  # GNU binutils, as on the Lambda build platform
_SKIP = re.compile(r"(^|/)(__pycache__|tests?)(/|$)|\.pyc$")
# Parts of dependencies nothing here loads, left out to stay under Lambda's 250 MB: pyarrow's C++
# headers and sources, Cython sources, Arrow Flight (RPC), pyarrow's own C++ test module, the
# filesystems and formats pyarrow imports only if present (S3, GCS, Azure, HDFS, ORC: trailguard
# reaches S3 through boto3), and the two spare copies of each libarrow_python library (the loader
# asks for the ``.so.<major>`` name only).
_PRUNE = re.compile(r"^pyarrow/(include|src)/|^pyarrow/(_flight|libarrow_flight|libarrow_python_flight|"
                    r"_pyarrow_cpp_tests|_s3fs|libarrow_s3|_gcsfs|_azurefs|_hdfs|_orc|_dataset_orc)[.]|"
                    r"^pyarrow/libarrow_python[a-z_]*[.]so([.]\d+[.]\d+[.]\d+)?$|\.(pxd|pyx|pxi)$")
ELF_MAGIC = b"\x7fELF"
# Libraries auditwheel vendored into ``<name>.libs/`` were rewritten by patchelf, and strip breaks
# their layout ("ELF load command address/offset not page-aligned"): they are packaged as they are.
_AUDITWHEEL_LIBS = re.compile(r"[.]libs/[^/]+$")
# Project folders beside the package that the code reads at run time (pipeline/paths.py).
PROJECT_DIRS = ("pipeline", "queries", "glue", "rules")


@dataclass(frozen=True)
class Bundle:
    """One Lambda zip: its file name, handler and what ``import handler`` needs beyond the runtime."""

    name: str
    handler: str
    dependencies: tuple[str, ...]


BUNDLES = {
    # A tick on Athena: PyAthena + pandas for results, pyarrow for the findings store, sqlglot/jinja2
    # for SQL, croniter for schedules, cryptography for log file validation, PyYAML for specs and
    # detection headers, and DuckDB for the hot tier (docs/incremental-athena.md), which the
    # runner turns on by itself where [catalog] lake_uri is set. DuckDB fits because every shared
    # library is stripped of its symbol tables and the pruning above (measured in the docs).
    "runner": Bundle("trailguard-runner.zip", "pipeline.lambda_handler.handler",
                     ("pyathena", "pandas", "numpy", "pyarrow", "sqlglot", "jinja2", "PyYAML", "croniter",
                      "cryptography", "duckdb")),
    "response": Bundle("trailguard-response.zip", "pipeline.response.handler.handler",
                       ("pandas", "numpy", "PyYAML")),
}


# The import names of RUNTIME_PROVIDED: what a Python must find beside the zip to run as Lambda does.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def runtime_site(folder: Path) -> Path:
    """A folder holding only what the Lambda runtime ships, linked from this environment: with the
    unzipped zip and ``python -S``, an import the zip lacks fails here as it would in Lambda."""
    import importlib.util

    folder.mkdir(parents=True)
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            sys.exit(f"package_lambda: {name} is not installed here")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder


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


def closure(names: tuple[str, ...] | list[str]) -> list[metadata.Distribution]:
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
            sys.exit(f"package_lambda: {name} is not installed here; install it or use --no-deps")
        seen[key] = dist
        todo.extend(_requirements(dist))
    return sorted(seen.values(), key=lambda d: _norm(d.metadata["Name"]))


def _project_files() -> Iterator[tuple[str, Path]]:
    for folder in PROJECT_DIRS:
        for path in (ROOT / folder).rglob("*"):
            name = path.relative_to(ROOT).as_posix()
            if path.is_file() and not _SKIP.search(name):
                yield name, path


def _dependency_files(dists: list[metadata.Distribution]) -> Iterator[tuple[str, Path]]:
    for dist in dists:
        for file in dist.files or []:
            name = file.as_posix()
            if name.startswith("..") or name.startswith("/") or _SKIP.search(name) or _PRUNE.search(name):
                continue  # scripts installed outside site-packages, caches
            located = Path(str(dist.locate_file(file)))
            if located.is_file():
                yield name, located


def _contents(path: Path, scratch: Path) -> bytes:
    """The bytes to package: a shared library stripped of its symbol tables (``strip
    --strip-unneeded``, what the dynamic loader does not need: a fifth of pyarrow's size), any other
    file (and auditwheel's patched libraries) as it is. strip is deterministic, so the zip stays
    reproducible."""
    with path.open("rb") as handle:
        if handle.read(4) != ELF_MAGIC or _AUDITWHEEL_LIBS.search(path.as_posix()):
            return path.read_bytes()
    target = scratch / "stripped"
    try:
        done = subprocess.run([STRIP, "--strip-unneeded", "-o", str(target), str(path)],
                              capture_output=True, text=True, check=False)
    except FileNotFoundError:
        sys.exit("package_lambda: `strip` (GNU binutils) is not installed; install binutils or use --no-deps")
    if done.returncode != 0:
        sys.exit(f"package_lambda: strip failed on {path}: {done.stderr.strip()}")
    return target.read_bytes()


def write_zip(output: Path, files: dict[str, Path]) -> int:
    """Write ``files`` (archive name -> source) byte-for-byte reproducibly; return the unzipped size."""
    output.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    partial = output.with_suffix(output.suffix + ".partial")
    with zipfile.ZipFile(partial, "w") as archive, tempfile.TemporaryDirectory() as scratch:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = 3  # unix, so external_attr carries the mode below
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = _contents(files[name], Path(scratch))
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
            size += len(data)
    partial.replace(output)
    return size


def build(bundle: Bundle, output: Path, with_deps: bool) -> tuple[int, list[str]]:
    """Write one bundle's zip; return its unzipped size and the packaged distributions."""
    dists = closure(bundle.dependencies) if with_deps else []
    files = dict(_project_files())
    files.update(_dependency_files(dists))
    return write_zip(output, files), [f"{d.metadata['Name']}=={d.version}" for d in dists]


def sha256_base64(path: Path) -> str:
    """What Terraform's ``filebase64sha256`` gives for the file (the function's CodeSha256)."""
    import base64

    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def main(argv: list[str] | None = None, only: tuple[str, ...] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist",
                        help="folder for the zips (default dist/)")
    parser.add_argument("--output", type=Path, help="file name, with --only (default dist/<bundle zip>)")
    parser.add_argument("--only", choices=sorted(BUNDLES), help="build one bundle")
    parser.add_argument("--no-deps", action="store_true", help="package only the project (deps from a layer)")
    parser.add_argument("--allow-platform-mismatch", action="store_true",
                        help="copy compiled dependencies even if this Python is not the Lambda runtime's")
    args = parser.parse_args(argv)
    chosen = (args.only,) if args.only else (only or tuple(BUNDLES))
    if args.output and len(chosen) != 1:
        parser.error("--output names one zip: use it with --only")
    here = (sys.version_info[:2], sysconfig.get_platform())
    if not args.no_deps and here != RUNTIME and not args.allow_platform_mismatch:
        print(f"package_lambda: this is Python {here[0]} on {here[1]}, the runtime is {RUNTIME}; "
              "compiled dependencies would not load there. Use --no-deps and a layer.", file=sys.stderr)
        return 2
    status = 0
    for key in chosen:
        bundle = BUNDLES[key]
        output = args.output or args.dist / bundle.name
        size, dists = build(bundle, output, not args.no_deps)
        limit = LAMBDA_UNZIPPED_LIMIT / 1e6
        print(f"wrote {output} ({size / 1e6:.1f} MB unzipped of Lambda's {limit:.1f} MB, "
              f"sha256 {sha256_base64(output)}); "
              f"handler {bundle.handler}")
        print("  packaged: " + ", ".join(PROJECT_DIRS) + "".join(f", {d}" for d in dists))
        if size > LAMBDA_UNZIPPED_LIMIT:
            print(f"package_lambda: {output} is over Lambda's 250 MB unzipped limit; "
                  "use --no-deps and a layer", file=sys.stderr)
            status = 1
    print("from the Lambda runtime: boto3, botocore (not packaged)")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
