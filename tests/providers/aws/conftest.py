from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from providers.aws import simulator
from scanner.progress import NullProgress

REGION = "eu-west-1"
OTHER_REGION = "us-east-1"


@pytest.fixture
def aws() -> Iterator[None]:
    """In-process moto for every AWS service, with keyaudit's extensions for moto's KMS gaps;
    fake credentials come from tests/conftest.py."""
    simulator.patch_moto()
    simulator.reset()
    with mock_aws():
        yield
    simulator.reset()


@pytest.fixture
def kms(aws: None):
    return boto3.client("kms", region_name=REGION)


@pytest.fixture
def progress() -> NullProgress:
    return NullProgress()
