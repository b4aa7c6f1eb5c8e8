"""One Terraform deployment on a private moto server for the whole session, and the shared moto fixtures.

``deployment`` builds both zips with ``scripts/package_lambda.py`` (``--no-deps``: the code is
never run inside moto, and the full zip takes a minute), applies deploy/terraform with the
functions it creates, and keeps ``terraform show -json`` and the outputs. The apply takes one to
two minutes, so it happens once; the function, schedule and permission tests all read it. Its
moto server runs in its own process, so the per-test reset of the shared one (``aws_env``) never
touches it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import boto3
import pytest

from tests.deploy.support import (
    LOG_BUCKET,
    MIRROR,
    SLACK_SECRET,
    TERRAFORM,
    Deployment,
    Terraform,
    _copy_module,
    _moto_provider,
    build_zips,
)


def _moto_process() -> tuple[subprocess.Popen[bytes], str]:
    """A moto server in its own process: moto's state is per process, and the shared server's
    per-test reset (``aws_env``) would otherwise wipe the deployment between tests."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1):  # noqa: S310 - local
                return server, endpoint
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the moto server for the deployment did not start")


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if TERRAFORM is None or MIRROR is None:
        pytest.skip(
            "terraform or the AWS provider mirror (a tf-plugins folder) is missing; "
            "see tests/aws/test_terraform.py"
        )
    server, endpoint = _moto_process()
    try:
        home = tmp_path_factory.mktemp("deploy")
        dist = home / "dist"
        build_zips(dist)
        org = boto3.client(
            "organizations",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        workdir = _copy_module(home)
        (workdir / "moto_provider.tf").write_text(_moto_provider(endpoint), encoding="utf-8")
        (workdir / "test.auto.tfvars.json").write_text(
            json.dumps(
                {
                    "org_id": org_id,
                    "accounts": ["123456789012"],
                    "regions": ["us-east-1"],
                    "log_bucket_name": LOG_BUCKET,
                    "lambda_package_dir": str(dist),
                    "kms_deletion_window_days": 7,
                    "enable_org_admin": False,
                    "enable_guardduty_publishing": False,  # moto has no CreatePublishingDestination
                    # moto applies a Deny without its aws:SecureTransport condition
                    "deny_insecure_transport": False,
                    # What the permission tests exercise: changes (not dry-run), snapshots, Slack by secret.
                    "dry_run": False,
                    "response_snapshot_volumes": True,
                    "sinks": [{"type": "slack", "webhook_secret": SLACK_SECRET, "max_attempts": 1}],
                    "sink_secrets": [SLACK_SECRET],
                }
            ),
            encoding="utf-8",
        )
        tf = Terraform(workdir, home)
        tf.run("init", "-input=false", "-backend=false")
        tf.run("apply", "-auto-approve", "-input=false", timeout=900)
        state = json.loads(tf.run("show", "-json").stdout)
        outputs = {k: v["value"] for k, v in json.loads(tf.run("output", "-json").stdout).items()}
        yield Deployment(tf, endpoint, dist, org_id, state, outputs)
    finally:
        server.terminate()
        server.wait(timeout=30)
