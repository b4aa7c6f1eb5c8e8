"""The shared moto fixtures (tests/aws/conftest.py) for the doctor's tests."""

