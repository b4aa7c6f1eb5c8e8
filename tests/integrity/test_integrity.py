"""CloudTrail log file validation (pipeline.integrity.validate) over the demo's signed digests.

The session's small_org (tests/conftest.py) has digests; each test tampers with its own copy and
checks that exactly the expected problem is reported, named by file, and nothing else.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer
from moto import mock_aws
from typer.testing import CliRunner

from pipeline.cli.integrity import validate_logs
from pipeline.demo import generate_demo
from pipeline.demo.digests import (
    DEMO_BUCKET,
    demo_keys_file,
    demo_private_key,
    render_digest,
    sign_digest,
    write_digest_file,
)
from pipeline.integrity.validate import ValidationReport, load_public_keys, validate
from tests.helpers import SMALL_END, SMALL_ORG, SMALL_START

START, END = SMALL_START, SMALL_END


@pytest.fixture
def pristine(small_org: Any) -> Path:
    """The session's small_org (tests/conftest.py), with its digests: read only."""
    return small_org.root


@pytest.fixture
def demo(small_org_copy: Path) -> Path:
    """This test's own copy of small_org, to tamper with."""
    return small_org_copy


def run(root: Path, keys: dict[str, Any] | None = None) -> ValidationReport:
    return validate(root, START, END, keys if keys is not None else load_public_keys(demo_keys_file(root)))


def problems(report: ValidationReport) -> list[tuple[str, str]]:
    return sorted((p.category, Path(p.file).name) for p in report.problems)


def digests(root: Path) -> list[Path]:
    return sorted(root.rglob("*_CloudTrail-Digest_*.json.gz"))


def read_digest(path: Path) -> dict[str, Any]:
    return json.loads(gzip.decompress(path.read_bytes()))


def middle_digest_with_logs(root: Path, skip: int = 0) -> Path:
    """A digest in the middle of a chain (it has a successor) that lists log files."""
    found = [p for p in digests(root) if read_digest(p)["logFiles"] and "T12" in p.name]
    return found[skip]


def last_digest(root: Path) -> Path:
    """The newest digest of one account/region: nothing later records its hash or signature."""
    return max(digests(root), key=lambda p: (p.parent.parent.parent.parent.name, p.name))


def rewrite(path: Path, doc: dict[str, Any], resign: bool) -> None:
    """Write ``doc`` back; re-signed with the demo key, or keeping the old (now stale) signature."""
    inflated = render_digest(doc)
    sig_path = path.with_name(path.name + ".sig")
    signature = sign_digest(demo_private_key(), doc, inflated) if resign else sig_path.read_text().strip()
    write_digest_file(path, inflated, signature)


def log_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*_CloudTrail_*.json.gz"))


def test_clean_demo_validates(pristine: Path) -> None:
    report = run(pristine)
    assert report.ok, report.problems[:5]
    counts = report.counts()
    assert counts["valid_log_files"] == len(log_files(pristine))
    assert counts["valid_digests"] == len(digests(pristine))
    assert report.to_dict()["ok"] is True and json.loads(report.to_json())["counts"] == counts


def test_modified_log_file(demo: Path) -> None:
    target = log_files(demo)[40]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    assert problems(run(demo)) == [("modified_log_files", target.name)]


def test_missing_log_file(demo: Path) -> None:
    target = log_files(demo)[41]
    target.unlink()
    assert problems(run(demo)) == [("missing_log_files", target.name)]


def test_unlisted_log_file(demo: Path) -> None:
    source = log_files(demo)[42]
    extra = source.with_name(source.name.rsplit("_", 1)[0] + "_AAAAAAAAAAAAAAAA.json.gz")
    extra.write_bytes(gzip.compress(b'{"Records":[]}', mtime=0))
    assert problems(run(demo)) == [("unlisted_log_files", extra.name)]


def test_deleted_digest_is_a_gap(demo: Path) -> None:
    target = middle_digest_with_logs(demo)
    listed = len(read_digest(target)["logFiles"])
    target.unlink()
    report = run(demo)
    assert problems(report) == [("missing_digests", target.name)]
    assert report.unverified_log_files == listed  # its hour's files are the gap, not "unlisted" files


def test_edited_digest(demo: Path) -> None:
    target = middle_digest_with_logs(demo)
    doc = read_digest(target)
    doc["logFiles"][0]["hashValue"] = hashlib.sha256(b"forged").hexdigest()
    rewrite(target, doc, resign=False)
    report = run(demo)
    assert problems(report) == [("modified_digests", target.name)]
    assert report.unverified_log_files == len(doc["logFiles"])


def test_corrupted_signature(demo: Path) -> None:
    target = middle_digest_with_logs(demo)
    sig = target.with_name(target.name + ".sig")
    text = sig.read_text().strip()
    sig.write_text(("0" if text[0] != "0" else "1") + text[1:] + "\n")
    assert problems(run(demo)) == [("bad_signatures", target.name)]


def test_missing_signature(demo: Path) -> None:
    target = middle_digest_with_logs(demo)
    target.with_name(target.name + ".sig").unlink()
    assert problems(run(demo)) == [("bad_signatures", target.name)]


def test_broken_chain_resigned(demo: Path) -> None:
    """A digest re-signed with a valid key but pointing at a different previous hash: only the chain fails."""
    target = last_digest(demo)
    doc = read_digest(target)
    doc["previousDigestHashValue"] = "0" * 64
    rewrite(target, doc, resign=True)
    assert problems(run(demo)) == [("broken_chains", target.name)]


def test_unknown_key_fingerprint(demo: Path) -> None:
    target = last_digest(demo)
    doc = read_digest(target)
    doc["digestPublicKeyFingerprint"] = "f" * 32
    rewrite(target, doc, resign=True)
    assert problems(run(demo)) == [("unknown_keys", target.name)]
    keys = load_public_keys(demo_keys_file(demo))
    none_known = run(demo, {"0" * 32: next(iter(keys.values()))})
    assert not none_known.ok and none_known.counts()["unknown_keys"] == len(digests(demo))


def test_four_tamperings_exactly(demo: Path) -> None:
    """The issue's acceptance case: one modified, one deleted, one extra log file, one edited digest."""
    edited = middle_digest_with_logs(demo)
    spared = {d["s3Object"].rsplit("/", 1)[-1] for d in read_digest(edited)["logFiles"]}
    logs = [p for p in log_files(demo) if p.name not in spared]
    modified, deleted, neighbour = logs[10], logs[20], logs[30]
    data = bytearray(modified.read_bytes())
    data[len(data) // 2] ^= 0xFF
    modified.write_bytes(bytes(data))
    deleted.unlink()
    extra = neighbour.with_name(neighbour.name.rsplit("_", 1)[0] + "_ZZZZZZZZZZZZZZZZ.json.gz")
    extra.write_bytes(gzip.compress(b'{"Records":[]}', mtime=0))
    doc = read_digest(edited)
    doc["newestEventTime"] = "2026-11-01T00:00:00Z"
    rewrite(edited, doc, resign=False)
    report = run(demo)
    assert problems(report) == sorted([
        ("modified_log_files", modified.name),
        ("missing_log_files", deleted.name),
        ("unlisted_log_files", extra.name),
        ("modified_digests", edited.name),
    ])
    args = ["validate-logs", "--source", str(demo), "--start", "2026-11-01", "--end", "2026-11-03",
            "--public-keys", str(demo_keys_file(demo))]
    result = CliRunner().invoke(app(), args)
    assert result.exit_code == 1, result.output
    assert modified.name in result.output and edited.name in result.output


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command()(validate_logs)
    cli.command("noop")(lambda: None)  # two commands, so typer keeps the subcommand name
    return cli


def test_cli_exit_codes_and_json(pristine: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    keys = ["--public-keys", str(demo_keys_file(pristine))]
    ok = runner.invoke(app(), ["validate-logs", "--source", str(pristine), "--start", "2026-11-01T00:00:00Z",
                               "--end", "2026-11-03T00:00:00Z", "--json", *keys])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True
    table = runner.invoke(app(), ["validate-logs", "--source", str(pristine), "--start", "2026-11-01",
                                  "--end", "2026-11-03", *keys])
    assert table.exit_code == 0 and "valid_log_files" in table.output and "all valid" in table.output
    for bad in (["--start", "yesterday", "--end", "2026-11-03"],
                ["--start", "2026-11-03", "--end", "2026-11-01"],
                ["--start", "2026-11-01", "--end", "2026-11-03", "--public-keys", str(tmp_path / "no.json")]):
        result = runner.invoke(app(), ["validate-logs", "--source", str(pristine), *bad])
        assert result.exit_code == 2, (bad, result.output)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app(), ["validate-logs", "--source", str(empty), "--start", "2026-11-01",
                                   "--end", "2026-11-03", "--public-keys", str(demo_keys_file(pristine))])
    assert result.exit_code == 1  # nothing verified is not a pass


def test_public_keys_as_pem(pristine: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    keys = load_public_keys(demo_keys_file(pristine))
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = {fp: k.public_bytes(serialization.Encoding.PEM, spki).decode() for fp, k in keys.items()}
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(pem))
    assert run(pristine, load_public_keys(path)).ok


@pytest.mark.slow  # uploads the whole organization to S3 (moto in-process)
def test_on_s3_with_metadata_signatures(pristine: Path) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=DEMO_BUCKET)
        for path in sorted((pristine / "AWSLogs").rglob("*.gz")):
            key = path.relative_to(pristine).as_posix()
            extra: dict[str, Any] = {}
            sig = path.with_name(path.name + ".sig")
            if sig.exists():
                metadata = {"signature": sig.read_text().strip(), "signature-algorithm": "SHA256withRSA"}
                extra["Metadata"] = metadata
            s3.put_object(Bucket=DEMO_BUCKET, Key=key, Body=path.read_bytes(), **extra)
        keys = load_public_keys(demo_keys_file(pristine))
        report = validate(f"s3://{DEMO_BUCKET}", START, END, keys, s3_client=s3)
        assert report.ok, report.problems[:5]
        assert report.counts()["valid_log_files"] == len(log_files(pristine))
        victim = log_files(pristine)[7].relative_to(pristine).as_posix()
        s3.put_object(Bucket=DEMO_BUCKET, Key=victim, Body=gzip.compress(b'{"Records":[]}', mtime=0))
        report = validate(f"s3://{DEMO_BUCKET}", START, END, keys, s3_client=s3)
        assert [(p.category, p.file) for p in report.problems] == [
            ("modified_log_files", f"s3://{DEMO_BUCKET}/{victim}")
        ]


@pytest.mark.slow  # generates an organization
def test_demo_with_digests_is_deterministic(pristine: Path, tmp_path: Path) -> None:
    def tree(root: Path) -> dict[str, str]:
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    generate_demo(tmp_path / "a", **SMALL_ORG, digests=True)  # as small_org (tests/conftest.py) was made
    a = tree(tmp_path / "a")
    assert a == tree(pristine)
    assert any("CloudTrail-Digest" in k and k.endswith(".sig") for k in a)
    assert demo_keys_file(tmp_path / "a").read_bytes() == demo_keys_file(pristine).read_bytes()


def test_a_window_before_the_first_digest_is_no_gap_but_one_after_them_is(small_org):
    from datetime import timedelta

    from pipeline.integrity.keys import load_public_keys

    start, end = small_org.manifest.window()
    keys = load_public_keys(demo_keys_file(small_org.root))
    before = validate(small_org.root, start - timedelta(hours=5), start - timedelta(hours=3), keys)
    assert before.problems == [] and before.valid_digests == 0  # nothing to check, nothing wrong
    assert before.note and "first digest" in before.note  # said, not "INVALID: 0 problem(s)"
    after = validate(small_org.root, end + timedelta(hours=3), end + timedelta(hours=5), keys)
    trees = {p.parents[3] for p in digests(small_org.root)}
    assert not after.ok and {p.category for p in after.problems} == {"missing_digests"}
    assert len(after.problems) == len(trees)  # every account and region is missing its digests
