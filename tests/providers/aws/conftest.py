from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
import requests
from moto import mock_aws
from moto.core.exceptions import JsonRESTError
from moto.kms.responses import KmsResponse
from moto.server import ThreadedMotoServer

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


@contextmanager
def failing(operation: str, code: str, *, region: str | None = None) -> Iterator[None]:
    """Make moto answer ``operation`` with error ``code`` (in one region, or everywhere)."""
    original = getattr(KmsResponse, operation)

    def broken(self: KmsResponse) -> str:
        if region is None or self.region == region:
            raise JsonRESTError(code, f"injected {code}")
        result: str = original(self)
        return result

    setattr(KmsResponse, operation, broken)
    try:
        yield
    finally:
        setattr(KmsResponse, operation, original)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    simulator.patch_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def endpoint(moto_server: str) -> Iterator[str]:
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    simulator.reset()
    yield moto_server
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
