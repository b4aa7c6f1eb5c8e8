"""The shared moto fixtures (tests/aws/conftest.py) for the doctor's tests."""

from tests.aws.conftest import aws_client, aws_env, moto_endpoint  # noqa: F401
