"""Forged or missing evidence must never validate (issue 16, items 1-3).

The attacker here can write anything into the bucket (the source folder): re-sign every digest
with a key of their own, drop a key file beside the logs, delete the digests at either end of the
window, or delete them all. Each case must fail ``validate-logs`` with a named problem.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from pipeline.cli.integrity import validate_logs
from pipeline.config import ConfigError
from pipeline.demo import generate_demo
from pipeline.demo.digests import demo_keys_file, public_key_der, render_digest, write_digest_file
from pipeline.integrity.findings import public_keys_for
from pipeline.integrity.keys import fingerprint, load_public_keys
from pipeline.integrity.validate import validate

START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("forged") / "demo"
    generate_demo(root, events=5000, days=2, digests=True)
    return root


@pytest.fixture
def demo(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "demo"
    shutil.copytree(pristine, copy)
    return copy


def trusted(pristine: Path) -> Path:
    return demo_keys_file(pristine)


def digests(root: Path) -> list[Path]:
    return sorted(root.rglob("*_CloudTrail-Digest_*.json.gz"))


def cli(args: list[str]):
    app = typer.Typer()
    app.command()(validate_logs)
    app.command("noop")(lambda: None)
    return CliRunner().invoke(app, ["validate-logs", *args])


def forge_everything(root: Path) -> str:
    """Re-sign every digest with the attacker's key, as the attacker can; returns its fingerprint."""
    import base64

    from pipeline.demo.digests import sign_digest

    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fp = fingerprint(attacker.public_key())
    by_tree: dict[Path, list[Path]] = {}
    for path in digests(root):
        by_tree.setdefault(path.parents[3], []).append(path)
    for paths in by_tree.values():
        previous = None
        for path in sorted(paths, key=lambda p: p.name):
            doc = json.loads(gzip.decompress(path.read_bytes()))
            doc["digestPublicKeyFingerprint"] = fp
            if previous:
                doc["previousDigestHashValue"], doc["previousDigestSignature"] = previous
            inflated = render_digest(doc)
            signature = sign_digest(attacker, doc, inflated)
            write_digest_file(path, inflated, signature)
            import hashlib

            previous = (hashlib.sha256(inflated).hexdigest(), signature)
    keys = {fp: base64.b64encode(public_key_der(attacker.public_key())).decode()}
    (root / "demo-public-keys.json").write_text(json.dumps(keys))
    return fp


def test_the_demo_key_file_lies_outside_the_source(pristine: Path) -> None:
    assert trusted(pristine).is_file()
    assert pristine not in trusted(pristine).parents
    assert not list(pristine.glob("*public-keys*.json"))


def test_a_key_file_planted_in_the_source_is_not_used(demo: Path, pristine: Path) -> None:
    forge_everything(demo)
    args = ["--source", str(demo), "--start", "2026-11-01", "--end", "2026-11-03"]
    implicit = cli(args)
    assert implicit.exit_code == 2 and "public keys" in implicit.output, implicit.output
    explicit = cli([*args, "--public-keys", str(demo / "demo-public-keys.json")])
    assert explicit.exit_code == 2 and "inside the source" in explicit.output, explicit.output
    with pytest.raises(ConfigError, match="inside the source"):
        public_keys_for(str(demo), demo / "demo-public-keys.json", START, END)
    real = cli([*args, "--public-keys", str(trusted(pristine))])
    assert real.exit_code == 1 and "unknown_keys" in real.output, real.output


def test_a_fingerprint_must_belong_to_its_key(demo: Path, pristine: Path) -> None:
    """The attacker's key offered under the genuine fingerprint does not verify anything."""
    genuine = next(iter(load_public_keys(trusted(pristine))))
    forge_everything(demo)
    for path in digests(demo):  # claim the genuine fingerprint, signed by the attacker's key
        doc = json.loads(gzip.decompress(path.read_bytes()))
        doc["digestPublicKeyFingerprint"] = genuine
        write_digest_file(path, render_digest(doc), path.with_name(path.name + ".sig").read_text().strip())
    attacker_key = next(iter(load_public_keys(demo / "demo-public-keys.json").values()))
    report = validate(demo, START, END, {genuine: attacker_key})
    assert not report.ok and report.valid_digests == 0
    assert {p.category for p in report.problems} == {"unknown_keys"}
    assert "fingerprint" in report.problems[0].detail


def ending(root: Path, stamp: str) -> list[Path]:
    """Every account and region's digest whose end time (in its name) is ``stamp``."""
    return [p for p in digests(root) if p.name.endswith(f"_{stamp}.json.gz")]


def test_deleted_digests_at_the_start_and_end_are_missing(demo: Path, pristine: Path) -> None:
    """Deleted in every account and region, so no other tree's digests reveal the window's ends."""
    keys = load_public_keys(trusted(pristine))
    window_start, window_end = datetime(2026, 11, 1, 6, tzinfo=UTC), datetime(2026, 11, 1, 18, tzinfo=UTC)
    assert validate(demo, window_start, window_end, keys).ok
    first, last = ending(demo, "20261101T070000Z"), ending(demo, "20261101T180000Z")
    trees = {p.parents[3] for p in digests(demo)}
    assert len(first) == len(last) == len(trees) > 1
    for path in first + last:
        path.unlink()
    report = validate(demo, window_start, window_end, keys)
    assert not report.ok
    missing = [p.detail for p in report.problems if p.category == "missing_digests"]
    assert len(missing) == 2 * len(trees), report.problems
    assert sum("2026-11-01T06:00:00Z" in d for d in missing) == len(trees)
    assert sum("2026-11-01T18:00:00Z" in d for d in missing) == len(trees)


def test_first_digest_must_name_an_existing_previous(demo: Path, pristine: Path) -> None:
    keys = load_public_keys(trusted(pristine))
    before = ending(demo, "20261101T070000Z")[0]
    before.unlink()  # covers 06:00-07:00, just before the window; the window's first digest names it
    report = validate(demo, datetime(2026, 11, 1, 7, tzinfo=UTC), datetime(2026, 11, 1, 12, tzinfo=UTC), keys)
    assert [p.category for p in report.problems] == ["missing_digests"], report.problems
    assert before.name in report.problems[0].file + report.problems[0].detail


def test_no_digests_at_all_is_a_named_problem(demo: Path, pristine: Path, tmp_path: Path) -> None:
    keys_file = str(trusted(pristine))
    for path in digests(demo):
        path.unlink()
    result = cli(["--source", str(demo), "--start", "2026-11-01", "--end", "2026-11-03",
                  "--public-keys", keys_file])
    assert result.exit_code == 1
    assert "0 problem(s)" not in result.output and "missing_digests" in result.output, result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli(["--source", str(empty), "--start", "2026-11-01", "--end", "2026-11-03",
                  "--public-keys", keys_file])
    assert result.exit_code == 1 and "0 problem(s)" not in result.output
    assert "no_digests" in result.output, result.output


def test_a_stopped_trail_is_missing_digests_in_every_account_and_region(pristine: Path) -> None:
    keys = load_public_keys(trusted(pristine))
    after = START + timedelta(days=5)
    report = validate(pristine, after, after + timedelta(hours=6), keys)
    trees = {p.parents[3] for p in digests(pristine)}
    assert not report.ok
    assert sum(p.category == "missing_digests" for p in report.problems) == len(trees)
