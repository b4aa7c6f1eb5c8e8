"""What the Terraform tests share: the provider mirror, a terraform runner, the module copied per
test, the moto provider block, and the deployment the session applies (tests/deploy/conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3

MODULE = Path(__file__).resolve().parents[2] / "deploy" / "terraform"


MIRROR_CANDIDATES = (os.environ.get("TRAILGUARD_TF_MIRROR", ""), "/opt/tf-plugins",
                     "/usr/local/share/tf-plugins", "/usr/share/tf-plugins", str(Path.home() / "tf-plugins"))


# Every service the module touches; the provider is pointed at moto for each of them.
SERVICES = ("athena", "cloudtrail", "cloudwatch", "events", "glue", "guardduty", "iam", "kms", "lambda",
            "logs", "organizations", "s3", "scheduler", "sqs", "sts")


ACCOUNT = "123456789012"  # moto's default account


def _find_mirror() -> Path | None:
    for candidate in MIRROR_CANDIDATES:
        if candidate and (Path(candidate) / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return Path(candidate)
    return None


TERRAFORM = shutil.which("terraform")


MIRROR = _find_mirror()


class Terraform:
    """Runs terraform in a copy of the module with a CLI config pointing at the mirror only."""

    def __init__(self, workdir: Path, home: Path) -> None:
        self.workdir = workdir
        config = home / "terraform.rc"
        config.write_text(
            f'provider_installation {{\n  filesystem_mirror {{\n    path = "{MIRROR}"\n  }}\n}}\n'
            f'plugin_cache_dir = "{home / "plugin-cache"}"\n',
            encoding="utf-8",
        )
        (home / "plugin-cache").mkdir()
        self.env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(config),
            "TF_DATA_DIR": str(home / "data"),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
            "TF_INPUT": "0",
        }
        self.env.pop("TF_PLUGIN_CACHE_DIR", None)

    def run(self, *args: str, ok: tuple[int, ...] = (0,),
            timeout: int = 300) -> subprocess.CompletedProcess[str]:
        assert TERRAFORM is not None
        result = subprocess.run([TERRAFORM, *args, "-no-color"], cwd=self.workdir, env=self.env,
                                capture_output=True, text=True, timeout=timeout, check=False)
        assert result.returncode in ok, (
            f"terraform {' '.join(args)} exited {result.returncode}\n"
            f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
        )
        return result


def _copy_module(tmp_path: Path) -> Path:
    workdir = tmp_path / "module"
    shutil.copytree(MODULE, workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfvars"))
    return workdir


def _moto_provider(endpoint: str) -> str:
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in SERVICES)
    return f"""# Test only: the provider against the moto server on 127.0.0.1, fake keys.
provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = false
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


def _lambda_arn(client: Any, name: str) -> str:
    """A function that exists in moto (never invoked), so EventBridge permissions can be added."""
    iam = client("iam")
    role = iam.create_role(RoleName=f"{name}-exec", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                       "Action": "sts:AssumeRole"}],
    }))["Role"]["Arn"]
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
        Code={"ZipFile": buffer.getvalue()},
    )["FunctionArn"]


ROOT = Path(__file__).resolve().parents[2]


LOG_BUCKET = "trailguard-deploy-logs"


SLACK_SECRET = "trailguard/slack"


@dataclass
class Deployment:
    tf: Terraform
    endpoint: str
    dist: Path
    org_id: str
    state: dict[str, Any]
    outputs: dict[str, Any]

    def resource(self, address: str) -> dict[str, Any]:
        """The applied attributes of one resource (``aws_lambda_function.this["runner"]``)."""
        for item in self.state["values"]["root_module"]["resources"]:
            if item["address"] == address:
                return item["values"]
        raise KeyError(f"{address} is not in the applied state")

    def policy(self, role: str) -> dict[str, Any]:
        """The role's inline policy exactly as Terraform wrote it."""
        return json.loads(self.resource(f"aws_iam_role_policy.{role}")["policy"])

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def build_zips(dist: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "package_lambda.py"), "--no-deps", "--dist", str(dist)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done
