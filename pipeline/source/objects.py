"""Where ``validate-logs`` reads from: a local folder with the S3 key layout, or ``s3://bucket/prefix``.

Both stores speak in *keys* (``AWSLogs/...``, relative to the local folder; full object keys in the
bucket) so the validator never cares which one it has. The one real difference is where a digest's
signature lives: CloudTrail puts it in the object's ``x-amz-meta-signature`` metadata, which a
local folder cannot carry, so locally it is a sidecar text file ``<digest key>.sig`` holding the hex
signature (the demo writes it; to validate a bucket copied to disk, save each digest's metadata
signature there). Listing is per account/region/day prefix, never a walk of the whole bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from pipeline.source.keys import CLOUDTRAIL, DIGEST, LOGS_ROOT, account_prefix, local_account_dirs
from pipeline.source.s3 import list_objects, parse_s3_uri
from pipeline.source.s3sync import discover_log_prefixes

SIGNATURE_SUFFIX = ".sig"
SERVICES = (CLOUDTRAIL, DIGEST)


@dataclass(frozen=True)
class Tree:
    """One account and region, with the key prefix its ``CloudTrail/`` and ``CloudTrail-Digest/`` share."""

    account: str
    region: str
    account_prefix: str  # e.g. "AWSLogs/o-x/111122223333/"


class Store(Protocol):
    def trees(self) -> list[Tree]: ...
    def has_digests(self) -> bool: ...
    def list_keys(self, prefix: str) -> list[str]: ...
    def list_dirs(self, prefix: str) -> list[str]: ...
    def read(self, key: str) -> bytes | None: ...
    def signature(self, key: str) -> str | None: ...
    def key_for(self, bucket: str | None, s3_object: str) -> str | None: ...
    def name(self, key: str) -> str: ...


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir())
    except OSError:
        return []


class LocalStore:
    """A folder holding ``AWSLogs/`` as the bucket does; signatures in ``.sig`` sidecars."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def trees(self) -> list[Tree]:
        found: set[Tree] = set()
        for account_dir, org_id in local_account_dirs(self.root):
            prefix = account_prefix(account_dir.name, org_id)
            for service in SERVICES:
                found |= {Tree(account_dir.name, r.name, prefix) for r in _subdirs(account_dir / service)}
        return sorted(found, key=lambda t: (t.account_prefix, t.region))

    def has_digests(self) -> bool:
        return any((account_dir / DIGEST).is_dir() for account_dir, _ in local_account_dirs(self.root))

    def list_keys(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in folder.iterdir() if p.is_file())

    def list_dirs(self, prefix: str) -> list[str]:
        """The sub-folders of ``prefix`` as key prefixes ending in ``/``, in order."""
        return [p.relative_to(self.root).as_posix() + "/" for p in _subdirs(self.root / prefix)]

    def read(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def signature(self, key: str) -> str | None:
        try:
            return (self.root / (key + SIGNATURE_SUFFIX)).read_text(encoding="ascii").strip() or None
        except (FileNotFoundError, UnicodeDecodeError):
            return None

    def key_for(self, bucket: str | None, s3_object: str) -> str | None:
        """A digest names bucket keys; the folder mirrors the bucket from ``AWSLogs/`` down."""
        index = s3_object.find(f"{LOGS_ROOT}/")
        return s3_object[index:] if index >= 0 else None

    def name(self, key: str) -> str:
        return str(self.root / key)


class S3Store:
    """``s3://bucket/prefix`` through a boto3 client; the signature from the object's metadata."""

    def __init__(self, uri: str, s3_client: Any) -> None:
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.client = s3_client
        self._signatures: dict[str, str | None] = {}

    def trees(self) -> list[Tree]:
        found = {
            Tree(p.account, p.region, p.key_prefix[: -len(f"{p.service}/{p.region}/")])
            for p in discover_log_prefixes(self.client, self.bucket, self.prefix, services=SERVICES)
        }
        return sorted(found, key=lambda t: (t.account_prefix, t.region))

    def has_digests(self) -> bool:
        return bool(discover_log_prefixes(self.client, self.bucket, self.prefix, services=SERVICES[1:]))

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(obj.key for obj in list_objects(self.client, self.bucket, prefix, delimiter="/"))

    def list_dirs(self, prefix: str) -> list[str]:
        """The common prefixes one level below ``prefix`` (S3's folders), in order."""
        paginator = self.client.get_paginator("list_objects_v2")
        return sorted(
            common["Prefix"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
            for common in page.get("CommonPrefixes", [])
        )

    def read(self, key: str) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        self._signatures[key] = response.get("Metadata", {}).get("signature")
        return response["Body"].read()

    def signature(self, key: str) -> str | None:
        if key not in self._signatures:
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError:
                return None
            self._signatures[key] = head.get("Metadata", {}).get("signature")
        return self._signatures[key]

    def key_for(self, bucket: str | None, s3_object: str) -> str | None:
        """Only objects in this bucket can be checked; a log named in another bucket is not ours."""
        return s3_object if bucket in (None, self.bucket) else None

    def name(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def open_store(source: Path | str, s3_client: Any = None) -> Store:
    text = str(source)
    if text.startswith("s3://"):
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        return S3Store(text, s3_client)
    root = Path(source)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    return LocalStore(root)
