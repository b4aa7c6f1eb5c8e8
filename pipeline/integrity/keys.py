"""Public keys for digest signatures: from a JSON file of keys, or CloudTrail's ``ListPublicKeys``.

A key file is ``{fingerprint: PEM or base64 DER}``; the demo writes one (``demo-public-keys.json``)
in the form ``ListPublicKeys`` returns keys (base64 PKCS#1 DER), so both paths share one parser.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The key file the demo writes beside its source (a test fixture: real sources ask ListPublicKeys).
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
