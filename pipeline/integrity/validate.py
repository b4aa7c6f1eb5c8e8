"""CloudTrail log file integrity validation: what ``aws cloudtrail validate-logs`` does, org-wide.

With log file validation on, CloudTrail delivers every hour, per account and region, a digest
listing the log files delivered in that hour with the SHA-256 of their uncompressed content. Each
digest names the previous one with its SHA-256 (of the uncompressed digest) and signature, and is
signed (SHA256withRSA, PKCS#1 v1.5) over ``digestEndTime\\nbucket/key\\nsha256(digest)\\nprevious
signature`` ("null" when there is none). An attacker who edits, deletes or adds a log file, or edits
or deletes a digest, breaks one of these links; this module says which, file by file.

Telling an edited digest from a corrupted signature: both make the signature fail. The next digest
recorded the previous one's hash and signature when it was signed, so when that next digest is
itself valid, a hash mismatch means the content changed (``modified_digests``) and a signature
mismatch means the signature changed (``bad_signatures``). A problem is reported once, where it
happened: the digest after an edited one is not also reported as a broken chain, and log files of a
digest that cannot be trusted (or that falls in a gap) are counted as unverified, not as unlisted.

Signatures of local digests are read from ``<digest>.sig`` sidecars (see ``pipeline.source.objects``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pipeline.integrity.keys import fetch_public_keys, load_public_key, load_public_keys, matches_fingerprint
from pipeline.source.objects import Store, Tree, open_store
from pipeline.times import iso_z, parse_format, utcnow

CATEGORIES = (
    "modified_log_files",
    "missing_log_files",
    "unlisted_log_files",
    "missing_digests",
    "modified_digests",
    "broken_chains",
    "bad_signatures",
    "unknown_keys",
    "no_digests",
)
REQUIRED = ("digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object",
            "digestPublicKeyFingerprint", "logFiles")
TOLERANCE = timedelta(minutes=1)  # digests abut; a hole shorter than this is clock rounding
# A digest arrives up to an hour after the hour it covers, and not every account and region's at the
# same moment: hours closer to now than this are not expected to be digested yet.
SETTLE = timedelta(hours=2)
_DIGEST_NAME = re.compile(r"_CloudTrail-Digest_.+_(\d{8}T\d{6}Z)(_backfill)?\.json\.gz$")
_LOG_NAME = re.compile(r"_CloudTrail_[^_]+_(\d{8}T\d{4}Z)_[A-Za-z0-9]+\.json\.gz$")
__all__ = ["ValidationReport", "Problem", "validate", "load_public_key", "load_public_keys",
           "fetch_public_keys", "CATEGORIES"]
PublicKeys = Mapping[str, "rsa.RSAPublicKey | str | bytes"]


@dataclass(frozen=True)
class Problem:
    category: str
    file: str
    detail: str


@dataclass
class ValidationReport:
    """Counts of what verified, and one named problem per integrity failure."""

    source: str
    start: datetime
    end: datetime
    valid_digests: int = 0
    valid_log_files: int = 0
    unverified_log_files: int = 0  # listed by an untrusted digest or delivered in a gap
    problems: list[Problem] = field(default_factory=list)
    note: str | None = None  # why nothing was verified though nothing failed (e.g. before the trail)

    @property
    def ok(self) -> bool:
        """Valid only when something was verified and nothing failed: no digests is not a pass."""
        return not self.problems and self.valid_digests > 0

    def add(self, category: str, file: str, detail: str) -> None:
        assert category in CATEGORIES, category
        self.problems.append(Problem(category, file, detail))

    def counts(self) -> dict[str, int]:
        out = {"valid_digests": self.valid_digests, "valid_log_files": self.valid_log_files,
               "unverified_log_files": self.unverified_log_files}
        out.update({c: sum(p.category == c for p in self.problems) for c in CATEGORIES})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "start": iso_z(self.start),
            "end": iso_z(self.end),
            "ok": self.ok,
            "note": self.note,
            "counts": self.counts(),
            "problems": [{"category": p.category, "file": p.file, "detail": p.detail} for p in self.problems],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _key_time(key: str, pattern: re.Pattern[str], fmt: str) -> datetime | None:
    match = pattern.search(key)
    return parse_format(match.group(1), fmt) if match else None


@dataclass
class _Digest:
    key: str
    start: datetime
    end: datetime
    backfill: bool
    doc: dict[str, Any] | None = None
    sha256: str | None = None
    signature: str | None = None
    status: str = "unread"  # valid | bad_signature | unknown_key | unreadable | moved | no_signature


def _load_digest(
    store: Store, key: str, keys: Mapping[str, rsa.RSAPublicKey], report: ValidationReport
) -> _Digest:
    end = _key_time(key, _DIGEST_NAME, "%Y%m%dT%H%M%SZ")
    assert end is not None
    digest = _Digest(key, end - timedelta(hours=1), end, key.endswith("_backfill.json.gz"))
    name = store.name(key)
    raw = store.read(key)
    try:
        inflated = gzip.decompress(raw or b"")
        doc = json.loads(inflated)
        if not isinstance(doc, dict) or any(k not in doc for k in REQUIRED):
            raise ValueError("required fields missing")
        digest.start, digest.end = parse_format(doc["digestStartTime"]), parse_format(doc["digestEndTime"])
    except (OSError, EOFError, zlib.error, ValueError, TypeError) as exc:
        digest.status = "unreadable"
        report.add("modified_digests", name, f"not a readable digest ({exc})")
        return digest
    digest.doc, digest.sha256 = doc, hashlib.sha256(inflated).hexdigest()
    digest.signature = store.signature(key)
    if store.key_for(doc["digestS3Bucket"], doc["digestS3Object"]) != key:
        digest.status = "moved"
        report.add("modified_digests", name, f"names itself {doc['digestS3Object']}: moved or replaced")
        return digest
    fingerprint = doc["digestPublicKeyFingerprint"]
    if digest.signature is None:
        digest.status = "no_signature"
        report.add("bad_signatures", name, "no signature (S3 metadata, or .sig sidecar locally)")
    elif fingerprint not in keys:
        digest.status = "unknown_key"
        report.add("unknown_keys", name, f"signed with key {fingerprint}, which is not among the public keys")
    elif not matches_fingerprint(fingerprint, keys[fingerprint]):
        digest.status = "unknown_key"
        report.add("unknown_keys", name, f"the public key given for fingerprint {fingerprint} does not have "
                   "that fingerprint (hex MD5 of its DER): a substituted key is not trusted")
    else:
        previous = doc.get("previousDigestSignature") or "null"
        to_sign = f"{doc['digestEndTime']}\n{doc['digestS3Bucket']}/{doc['digestS3Object']}\n"
        to_sign += f"{digest.sha256}\n{previous}"
        try:
            keys[fingerprint].verify(bytes.fromhex(digest.signature), to_sign.encode(),
                                     padding.PKCS1v15(), hashes.SHA256())
            digest.status = "valid"
        except (InvalidSignature, ValueError):
            digest.status = "bad_signature"  # classified once the next digest is known
    return digest


def _tree_digests(store: Store, tree: Tree, start: datetime, end: datetime) -> list[str]:
    """Digest keys of ``tree`` whose hour overlaps [start, end): end time in (start, end + 1h)."""
    base = f"{tree.account_prefix}CloudTrail-Digest/{tree.region}/"
    keys = []
    day = start.date()
    while day <= (end + timedelta(hours=1)).date():
        for key in store.list_keys(f"{base}{day:%Y/%m/%d}/"):
            stamp = _key_time(key, _DIGEST_NAME, "%Y%m%dT%H%M%SZ")
            if stamp is not None and start < stamp < end + timedelta(hours=1):
                keys.append(key)
        day += timedelta(days=1)
    return keys


def _check_chain(store: Store, chain: list[_Digest], report: ValidationReport) -> None:
    """Classify failed signatures and check each valid digest's link to the one before it."""
    by_key = {d.key: d for d in chain}
    successor: dict[str, _Digest] = {}
    for digest in chain:
        prev_key = (digest.doc or {}).get("previousDigestS3Object")
        if prev_key:
            local = store.key_for(digest.doc.get("previousDigestS3Bucket"), prev_key) if digest.doc else None
            if local in by_key:
                successor[local] = digest
    for digest in chain:
        if digest.status != "bad_signature":
            continue
        after = successor.get(digest.key)
        name = store.name(digest.key)
        if after is not None and after.status == "valid" and after.doc:
            if after.doc.get("previousDigestHashValue") != digest.sha256:
                report.add("modified_digests", name, "content differs from the hash the next digest recorded")
            else:
                report.add("bad_signatures", name, "signature differs from the one the next digest recorded")
        else:
            report.add("bad_signatures", name, "signature does not verify (no later valid digest to tell "
                       "an edited digest from a corrupted signature)")
    ordered = sorted((d for d in chain if not d.backfill), key=lambda d: d.end)
    for before, digest in zip(ordered, ordered[1:], strict=False):
        if digest.status != "valid" or digest.doc is None:
            continue
        doc, name = digest.doc, store.name(digest.key)
        prev_key = doc.get("previousDigestS3Object")
        prev_local = store.key_for(doc.get("previousDigestS3Bucket"), prev_key) if prev_key else None
        contiguous = abs(digest.start - before.end) <= TOLERANCE
        if prev_local is None:
            if contiguous:
                report.add("broken_chains", name, f"names no previous digest though {before.key} precedes")
            continue
        if prev_local != before.key:
            if prev_local in by_key or contiguous:
                report.add("broken_chains", name, f"names {prev_key} as previous, not {before.key}")
            continue  # names a digest that is not there: reported as a gap
        if before.status != "valid":
            continue  # already reported on the previous digest itself
        if doc.get("previousDigestHashValue") != before.sha256:
            report.add("broken_chains", name, f"previous digest hash does not match {before.key}")
        elif doc.get("previousDigestSignature") != before.signature:
            report.add("broken_chains", name, f"previous digest signature does not match {before.key}")
        else:
            continue
        digest.status = "broken_chain"


Gap = tuple[datetime, datetime, "_Digest | None"]


def _holes(chain: list[_Digest], lo: datetime, hi: datetime) -> list[Gap]:
    """Spans of [lo, hi) no digest covers, each with the digest right after it (if any)."""
    holes = []
    cursor = lo
    for digest in sorted((d for d in chain if not d.backfill), key=lambda d: d.start):
        if digest.start - cursor > TOLERANCE and digest.start > lo:
            holes.append((cursor, min(digest.start, hi), digest))
        cursor = max(cursor, digest.end)
    if hi - cursor > TOLERANCE:
        holes.append((cursor, hi, None))
    return [h for h in holes if h[0] < h[1]]


def validate(
    source: Path | str,
    start: datetime,
    end: datetime,
    public_keys: PublicKeys,
    s3_client: Any = None,
    now: datetime | None = None,
) -> ValidationReport:
    """Validate every account and region's digests and log files for deliveries in [start, end).

    A local ``source`` reads signatures from ``.sig`` sidecars, ``s3://`` from object metadata.
    Like ``aws cloudtrail validate-logs``, every account and region is expected to have a digest
    for every hour of the window, from the trail's first digest (one that names no previous) on,
    up to ``SETTLE`` before ``now``: a digest missing at the start, in the middle or at the end is
    a problem, and so is a previous digest the window's first one names but the bucket lacks.
    """
    store = open_store(source, s3_client)
    keys = {fp: load_public_key(value) for fp, value in public_keys.items()}
    report = ValidationReport(str(source), start, end)
    chains: dict[Tree, list[_Digest]] = {}
    for tree in store.trees():
        found = _tree_digests(store, tree, start, end)
        chains[tree] = [_load_digest(store, key, keys, report) for key in found]
    if not store.has_digests():
        report.add("no_digests", str(source), "no CloudTrail-Digest files at all: log file validation is "
                   "off, every digest was deleted, or the source is not the folder that holds AWSLogs/")
        return report
    hi_all = min(end, (now or utcnow()) - SETTLE)
    expected = 0
    for tree, chain in chains.items():
        _check_chain(store, chain, report)
        since = _trail_start(store, tree, chain, keys, report)
        lo, hi = max(start, since) if since else start, hi_all
        if lo >= hi:
            continue
        expected += 1
        gaps = _holes(chain, lo, hi)
        _check_previous(store, chain, gaps, report)
        for gap_start, gap_end, after in gaps:
            prev = (after.doc or {}).get("previousDigestS3Object") if after else None
            where = store.name(store.key_for(None, prev) or prev) if prev else (
                store.name(f"{tree.account_prefix}CloudTrail-Digest/{tree.region}/"))
            report.add("missing_digests", where, f"no digest covers {iso_z(gap_start)} to {iso_z(gap_end)}")
        _check_logs(store, tree, chain, gaps, lo, hi, report)
    report.valid_digests = sum(d.status == "valid" for chain in chains.values() for d in chain)
    if not expected and not report.problems:
        report.note = ("no digest is due in this window: it lies before the trail's first digest or "
                       f"within {SETTLE} of now, so there is nothing to verify")
    return report


def _check_previous(store: Store, chain: list[_Digest], gaps: list[Gap], report: ValidationReport) -> None:
    """The window's first digest must name a previous digest that exists, unless it is the trail's
    first (a gap in the window before it already names the missing one)."""
    ordered = sorted((d for d in chain if not d.backfill and d.doc), key=lambda d: d.end)
    if not ordered or any(after is ordered[0] for _, _, after in gaps):
        return
    first = ordered[0]
    prev_key = first.doc.get("previousDigestS3Object") if first.doc else None
    if not prev_key:
        return
    local = store.key_for(first.doc.get("previousDigestS3Bucket"), prev_key) if first.doc else None
    if local is None or store.read(local) is None:
        report.add("missing_digests", store.name(local) if local else str(prev_key),
                   f"named as previous digest by {store.name(first.key)} but not in the bucket")


def _first_digest_key(store: Store, tree: Tree) -> str | None:
    """The tree's earliest digest key, found by walking the year/month/day folders in order."""
    prefix = f"{tree.account_prefix}CloudTrail-Digest/{tree.region}/"
    for _ in range(3):  # year, month, day
        folders = store.list_dirs(prefix)
        if not folders:
            return None
        prefix = folders[0]
    named = [k for k in store.list_keys(prefix)
             if _DIGEST_NAME.search(k) and not k.endswith("_backfill.json.gz")]
    return min(named, key=lambda k: _key_time(k, _DIGEST_NAME, "%Y%m%dT%H%M%SZ")) if named else None


def _trail_start(store: Store, tree: Tree, chain: list[_Digest], keys: Mapping[str, rsa.RSAPublicKey],
                 report: ValidationReport) -> datetime | None:
    """When the tree's digests begin: the start of its earliest digest if that one names no previous.

    ``None`` when digests are expected from any time: the earliest digest names a previous one
    (those before it were deleted), or the tree has none at all though others do."""
    ordered = sorted((d for d in chain if not d.backfill), key=lambda d: d.end)
    earliest = ordered[0] if ordered else None
    if earliest is None or (earliest.doc or {}).get("previousDigestS3Object"):
        key = _first_digest_key(store, tree)
        if key is None:
            return None
        if earliest is None or key != earliest.key:
            # read only for its link; its own problems belong to the window that holds it
            scratch = ValidationReport(report.source, report.start, report.end)
            earliest = _load_digest(store, key, keys, scratch)
    if earliest.doc is None or earliest.doc.get("previousDigestS3Object"):
        return None
    return earliest.start


def _check_logs(store: Store, tree: Tree, chain: list[_Digest], gaps: list[Gap], lo: datetime,
                hi: datetime, report: ValidationReport) -> None:
    """Hash every log file a valid digest lists; flag files delivered in [lo, hi) that none lists."""
    listed: set[str] = set()
    for digest in chain:
        entries = (digest.doc or {}).get("logFiles") or []
        for entry in entries:
            local = store.key_for(entry.get("s3Bucket"), entry.get("s3Object", ""))
            if local is not None:
                listed.add(local)
        if digest.status != "valid":
            report.unverified_log_files += len(entries)
            continue
        for entry in entries:
            local = store.key_for(entry.get("s3Bucket"), entry.get("s3Object", ""))
            name = store.name(local) if local else f"s3://{entry.get('s3Bucket')}/{entry.get('s3Object')}"
            raw = store.read(local) if local else None
            if raw is None:
                report.add("missing_log_files", name, f"listed in {digest.key} but not found")
                continue
            try:
                actual = hashlib.sha256(gzip.decompress(raw)).hexdigest()
            except (OSError, EOFError, zlib.error) as exc:
                report.add("modified_log_files", name, f"no longer a readable gzip file ({exc})")
                continue
            if actual != entry.get("hashValue"):
                report.add("modified_log_files", name, f"SHA-256 differs from the one in {digest.key}")
            else:
                report.valid_log_files += 1
    base = f"{tree.account_prefix}CloudTrail/{tree.region}/"
    day = lo.date()
    while day <= hi.date():
        for key in store.list_keys(f"{base}{day:%Y/%m/%d}/"):
            stamp = _key_time(key, _LOG_NAME, "%Y%m%dT%H%MZ")
            if stamp is None or not lo <= stamp < hi or key in listed:
                continue
            if any(g0 <= stamp < g1 for g0, g1, _ in gaps):
                report.unverified_log_files += 1  # the missing digest is the problem reported
            else:
                report.add("unlisted_log_files", store.name(key), "delivered in the window but in no digest")
        day += timedelta(days=1)
