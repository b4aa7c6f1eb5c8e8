"""Write CloudTrail digest files for the demo, so ``trailguard validate-logs`` runs on it too.

CloudTrail, with log file validation on, delivers one digest per account, region and hour: the
log files delivered in that hour with the SHA-256 of their (uncompressed) content, chained to the
previous hour's digest by its hash and signature, and signed with a regional RSA key. This module
does the same over the files the demo just wrote, so that an edited, deleted or added log file,
or an edited or deleted digest, is exactly what the validator has to find.

Where the signature lives: CloudTrail keeps it in the digest object's ``x-amz-meta-signature``
metadata. A local folder has no object metadata, so the demo writes it as a sidecar text file
``<digest>.json.gz.sig`` holding the hex signature (``pipeline.integrity.validate`` reads the same sidecar
for local sources, and the metadata for ``s3://`` sources). Uploading the demo to S3 therefore
means copying each sidecar into its digest's metadata (see ``pipeline.integrity.validate``).

Determinism: files are walked in sorted order, gzip headers carry mtime 0, the event-time range
comes from the log contents, and PKCS#1 v1.5 signatures are deterministic, so the same seed gives
the same bytes. The RSA key is fixed (``cryptography`` cannot derive a key from a seed).
"""

from __future__ import annotations

import base64
import calendar
import gzip
import hashlib
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pipeline.integrity.keys import PUBLIC_KEYS_SUFFIX
from pipeline.integrity.keys import fingerprint as key_fingerprint
from pipeline.source.keys import (
    CLOUDTRAIL,
    DAY_FORMAT,
    DIGEST,
    DIGEST_TIME_FORMAT,
    LOGS_ROOT,
    digest_file_name,
    region_prefix,
)

from .identities import HOME_REGION

# A DEMO KEY, published here on purpose: it signs synthetic demo digests and nothing else. Never use
# it for anything real; anyone can forge a signature with it.
DEMO_PRIVATE_KEY_PEM = b"""\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDQx1iykGe3oS9B
Yky1hvFpY2G82xNOEaU3C4BlHhIEkyv5ExL+E/bDSxnZoT2P9ymE0utjj7NqVwgY
pC58PDT0+bB1ElZuJvtoqWIAMm8pTyLDBlbkCSY0v7nZHCIznUgFd5+Np3UfHypu
l4f7sK6KlUjNrszWNBh2SqJTQAlzI1tPTtsO9GrCgLXUkTfqq2pNHBnHYNV7cru9
X8S0Lk4KAlecbvR99vESnz5GPI2qK1I3Pw23UpJlWkCv0n3e+628L2O7f/f14JHK
9wNVC7w8Qjm7P7oIHUXLKtZEK5hLkEUvWS0MQ/eioGwO8EpazV7XQ/VeGi+h6uWM
F5Map30vAgMBAAECggEADd4doGx5ZOWzY5EAia47z2n5YJMoHR0e77Nb4IAki2Jk
Vep4t1e+ay8DAtdh0uGpHzPDXuYwFdFP0qV5vrI8hI26a/oIaoZg6miDke/Hq5oy
oXrNv0xzIvAd1LO4jUmxxLRXtetT5EMH+xLcfXWm63kKdPFa3lr5yY9pREU27cI9
5IWFv6Fy4e7cEN5eQBahS6KJE+jLOjE5AmLUmFPTkVqx2ttsfnfs2jRdrZ7rlllx
iXm5jzXonXKi0Ra/fJ6IZLGnUKaluLyHOSB4eZ4jGADhBydyO9Z2sg5ls4yrB+9B
hqWa+hIeV00GMd4z1oCqWRUxnofBsMUZxTxKCpbxwQKBgQDoIyJGd/GYmiFML7hv
28dGnHXYn04Xc5iLfU737k/4YhZ8j0wV65T0BtI3ECYDYIqs9Umd8KulcMpWkAiT
u/wMLyl/PtnCzzLuwZtMg1/rI7pXj+dktez6ajioocSiZSsKaWaNZLwqZkpXIlyl
xpxVyuAG9ggeduPZTbd+OF+LBQKBgQDmPYPRphzzsqdxuZsRaDGvSOwCaEhKqI6G
M0WNRq8PHhwxJ+k99wEDCXGynMg80k3ZtfjAxntRKyWBuxWgJJf37Tam/UXs3sQ4
twuBqwpOA0K7UgeZv6GpcOlA8YCml1t3LumW3noRGctf7XXv2Gm1vZSzYSJiy9z1
ucBM72VlowKBgQDOvKuD0sJpQ6sv7Lf3duZMbn9NguLLY/mREPJJQAYckU6xc/Uw
+HPZuFFzFICmNU6Lpo//hx1247Jv0SqyV5KrTz1Hw7OwGVOk6uviAoZkJZeI7/IF
8Tex9POsyxUSA8OHLENW3UXvBNZkL4gPY4hLp7hIusiUSRG2r84hLRd5+QKBgGuy
2rZ2vZRBPZI1ABRkaNlVgxCdNzO1JPYhhadQKRMpQoa75J7Xq+F/yW+DZycMON5e
AL4sGgMd662DldoTRAL1M1tpngvvKFpfRUKif29+lviIpoWE3lokNvfqAAPtSRu3
Fg08hFz7c+arbT+EO+6Hf8do6GzOb82B1jImyYeBAoGAGbNn/aTBvhGBIZ1ztmJG
qS8Gw54A8pzXaLYxF08Zdwj/U3yQsXc/eyjzGpkC5JRBiHIWrFEQfJVPv91lzpcX
KXiCQIHyYUjFAxTMYOhNCV2UNdJa0hEwCs7HOQst6yIbStQXeEivdibG01AQ3AHK
bt9PZlfM5cALLrsf18l5ZlU=
-----END PRIVATE KEY-----
"""
DEMO_BUCKET = "trailguard-demo-org-cloudtrail-logs"  # what the demo digests claim as their bucket
DEMO_TRAIL = "org-trail"
SIGNATURE_SUFFIX = ".sig"
HOUR = 3600
COMPRESSLEVEL = 6
_STAMP = re.compile(r"_(\d{8}T\d{4})Z_[A-Za-z0-9]+\.json\.gz$")
_EVENT_TIME = re.compile(rb'"eventTime":"([0-9T:\-]+Z)"')


def demo_private_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(DEMO_PRIVATE_KEY_PEM, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def public_key_der(key: rsa.RSAPublicKey) -> bytes:
    """PKCS#1 ``RSAPublicKey`` DER: the form CloudTrail's ``ListPublicKeys`` returns."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """Hex MD5 of the PKCS#1 DER, as CloudTrail's fingerprints (one home: ``pipeline.integrity.keys``)."""
    return key_fingerprint(key)


def demo_keys_file(out: Path) -> Path:
    """Where the demo writes its public keys: beside the demo folder, never inside it.

    Inside the folder (the bucket's mirror) the file would be exactly what an attacker who can
    write to the bucket replaces, so validation does not trust key files there."""
    out = Path(out).absolute()
    return out.with_name(out.name + PUBLIC_KEYS_SUFFIX)


def sign_digest(key: rsa.RSAPrivateKey, doc: dict[str, Any], inflated: bytes) -> str:
    """SHA256withRSA over CloudTrail's signing string; returns the hex signature."""
    return key.sign(signing_string(doc, inflated), padding.PKCS1v15(), hashes.SHA256()).hex()


def signing_string(doc: dict[str, Any], inflated: bytes) -> bytes:
    """``end\\nbucket/key\\nsha256(uncompressed digest)\\nprevious signature`` ("null" for the first)."""
    previous = doc.get("previousDigestSignature") or "null"
    return (
        f"{doc['digestEndTime']}\n{doc['digestS3Bucket']}/{doc['digestS3Object']}\n"
        f"{hashlib.sha256(inflated).hexdigest()}\n{previous}"
    ).encode()


def render_digest(doc: dict[str, Any]) -> bytes:
    """The uncompressed digest bytes (what is hashed and signed)."""
    return json.dumps(doc, separators=(",", ":")).encode()


def write_digest_file(path: Path, inflated: bytes, signature: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(inflated, compresslevel=COMPRESSLEVEL, mtime=0))
    path.with_name(path.name + SIGNATURE_SUFFIX).write_text(signature + "\n", encoding="ascii")


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass(frozen=True)
class _LogEntry:
    key: str
    hash_value: str
    oldest: str | None
    newest: str | None


def _entry(out: Path, path: Path) -> _LogEntry:
    inflated = gzip.decompress(path.read_bytes())
    times = _EVENT_TIME.findall(inflated)
    return _LogEntry(
        key=path.relative_to(out).as_posix(),
        hash_value=hashlib.sha256(inflated).hexdigest(),
        oldest=min(times).decode() if times else None,
        newest=max(times).decode() if times else None,
    )


def write_digests(out: Path, org_id: str, start_ts: int) -> int:
    """Write hourly, chained, signed digests for every account/region CloudTrail tree under ``out``.

    Hours run from the hour of ``start_ts`` to the hour after the last delivery anywhere in the
    organization, the same span for every account and region (CloudTrail delivers a digest every
    hour even when no log file arrived). A log file belongs to the hour of its file-name time.
    Writes the public keys to :func:`demo_keys_file` (beside ``out``); returns the number of digest
    files written.
    """
    key = demo_private_key()
    public = key.public_key()
    org_root = out / LOGS_ROOT / org_id
    hours: dict[tuple[str, str], dict[int, list[Path]]] = defaultdict(lambda: defaultdict(list))
    last = start_ts
    for account_dir in sorted(p for p in org_root.iterdir() if p.is_dir()):
        trail_dir = account_dir / CLOUDTRAIL
        if not trail_dir.is_dir():
            continue
        for region_dir in sorted(p for p in trail_dir.iterdir() if p.is_dir()):
            bucket = hours[(account_dir.name, region_dir.name)]
            for path in sorted(region_dir.glob("*/*/*/*.json.gz")):
                match = _STAMP.search(path.name)
                if not match:
                    continue
                stamp = calendar.timegm(time.strptime(match.group(1), "%Y%m%dT%H%M"))
                bucket[stamp // HOUR * HOUR].append(path)
                last = max(last, stamp)
    first_hour, end_hour = start_ts // HOUR * HOUR, last // HOUR * HOUR + HOUR
    written = 0
    fp = fingerprint(public)
    for (account, region), by_hour in sorted(hours.items()):
        previous: tuple[str, str, str] | None = None  # (key, sha256 of uncompressed, signature)
        for hour in range(first_hour, end_hour, HOUR):
            entries = [_entry(out, p) for p in by_hour.get(hour, [])]
            end = hour + HOUR
            t = time.gmtime(end)
            stamp, day = time.strftime(DIGEST_TIME_FORMAT, t), time.strftime(DAY_FORMAT, t)
            name = digest_file_name(account, region, DEMO_TRAIL, HOME_REGION, stamp)
            digest_key = f"{region_prefix(DIGEST, account, region, org_id)}{day}/{name}"
            oldest = [e.oldest for e in entries if e.oldest]
            newest = [e.newest for e in entries if e.newest]
            doc: dict[str, Any] = {
                "awsAccountId": account,
                "digestStartTime": _iso(hour),
                "digestEndTime": _iso(end),
                "digestS3Bucket": DEMO_BUCKET,
                "digestS3Object": digest_key,
                "digestPublicKeyFingerprint": fp,
                "digestSignatureAlgorithm": "SHA256withRSA",
                "newestEventTime": max(newest) if newest else None,
                "oldestEventTime": min(oldest) if oldest else None,
                "previousDigestS3Bucket": DEMO_BUCKET if previous else None,
                "previousDigestS3Object": previous[0] if previous else None,
                "previousDigestHashValue": previous[1] if previous else None,
                "previousDigestHashAlgorithm": "SHA-256" if previous else None,
                "previousDigestSignature": previous[2] if previous else None,
                "logFiles": [
                    {
                        "s3Bucket": DEMO_BUCKET,
                        "s3Object": e.key,
                        "hashValue": e.hash_value,
                        "hashAlgorithm": "SHA-256",
                        "newestEventTime": e.newest,
                        "oldestEventTime": e.oldest,
                    }
                    for e in entries
                ],
            }
            inflated = render_digest(doc)
            signature = sign_digest(key, doc, inflated)
            write_digest_file(out / digest_key, inflated, signature)
            previous = (digest_key, hashlib.sha256(inflated).hexdigest(), signature)
            written += 1
    keys = {fp: base64.b64encode(public_key_der(public)).decode()}
    demo_keys_file(out).write_text(json.dumps(keys, indent=2) + "\n", encoding="utf-8")
    return written
