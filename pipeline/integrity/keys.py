"""Public keys for digest signatures: from a JSON file of keys, or CloudTrail's ``ListPublicKeys``.

A key file is ``{fingerprint: PEM or base64 DER}``; the demo writes one (``<out>.public-keys.json``,
beside its folder, never inside it) in the form ``ListPublicKeys`` returns keys (base64 PKCS#1
DER), so both paths share one parser.

Trust: whoever can write to the log bucket can write a key file into it and re-sign every digest
with their own key, so a key is trusted only from a place that attacker does not control (see
``pipeline.integrity.findings.public_keys_for``), and only under its own fingerprint: the hex MD5
of its DER encoding (:func:`fingerprints`). A key offered under another key's fingerprint verifies
nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The suffix of the key file the demo writes beside (never inside) its folder: ``demo.public-keys.json``.
PUBLIC_KEYS_SUFFIX = ".public-keys.json"
# The name a key file had inside demo folders before keys had to live outside the source.
PUBLIC_KEYS_FILE = "demo-public-keys.json"


def load_public_key(value: rsa.RSAPublicKey | str | bytes) -> rsa.RSAPublicKey:
    """PEM, or base64 DER (PKCS#1 as ``ListPublicKeys`` returns it, or SubjectPublicKeyInfo), or raw DER."""
    if isinstance(value, rsa.RSAPublicKey):
        return value
    data = value.encode() if isinstance(value, str) else value
    if data.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(data)
    else:
        der = data if data[:1] == b"\x30" else base64.b64decode(data)
        key = serialization.load_der_public_key(der)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def fingerprints(key: rsa.RSAPublicKey) -> set[str]:
    """The hex MD5 of the key's DER encoding, PKCS#1 (as ``ListPublicKeys`` returns it) and SPKI."""
    ders = (key.public_bytes(serialization.Encoding.DER, fmt)
            for fmt in (serialization.PublicFormat.PKCS1, serialization.PublicFormat.SubjectPublicKeyInfo))
    return {hashlib.md5(der, usedforsecurity=False).hexdigest() for der in ders}


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """The fingerprint CloudTrail writes into a digest: hex MD5 of the PKCS#1 DER public key."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return hashlib.md5(der, usedforsecurity=False).hexdigest()


def matches_fingerprint(fingerprint_hex: str, key: rsa.RSAPublicKey) -> bool:
    """Whether ``key`` is the key ``fingerprint_hex`` names (case-insensitive hex)."""
    return str(fingerprint_hex).strip().lower() in fingerprints(key)


def load_public_keys(path: Path) -> dict[str, rsa.RSAPublicKey]:
    """Read ``{fingerprint: PEM or base64 DER}`` (the demo writes ``demo-public-keys.json`` so)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object of fingerprint -> public key")
    return {str(fp): load_public_key(value) for fp, value in raw.items()}


def fetch_public_keys(cloudtrail_client: Any, start: datetime, end: datetime) -> dict[str, rsa.RSAPublicKey]:
    """The regional keys valid over [start, end] from CloudTrail ``ListPublicKeys`` (moto lacks it)."""
    keys: dict[str, rsa.RSAPublicKey] = {}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"StartTime": start, "EndTime": end}
        if token:
            kwargs["NextToken"] = token
        page = cloudtrail_client.list_public_keys(**kwargs)
        for item in page.get("PublicKeyList", []):
            keys[item["Fingerprint"]] = load_public_key(item["Value"])
        token = page.get("NextToken")
        if not token:
            return keys
