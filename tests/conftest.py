from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from scanner.inventory import Inventory
from tests.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures for every test)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_real_cloud_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A developer's real profile or token must never leak into a test."""
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("KEYAUDIT_GCP_ENDPOINT", raising=False)
    # No gcloud Application Default Credentials file, and no probe of the GCE metadata server.
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path_factory.mktemp("gcloud-config")))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    # SIEM delivery spools under the user data directory by default: never the developer's own.
    monkeypatch.setenv("KEYAUDIT_SPOOL_DIR", str(tmp_path_factory.mktemp("spool")))
    # `keyaudit scan` records history under the user data dir by default: a fresh one per test.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))
    monkeypatch.delenv("KEYAUDIT_STATE", raising=False)
    for secret in ("KEYAUDIT_SPLUNK_HEC_TOKEN", "KEYAUDIT_ELASTIC_API_KEY", "KEYAUDIT_ELASTIC_PASSWORD"):
        monkeypatch.delenv(secret, raising=False)


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def keyaudit(tmp_path: Path) -> Run:
    """Run the real CLI in a subprocess, as a user would (``python -m scanner``), from ``tmp_path``."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "scanner", *args],
            cwd=tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    return run


@pytest.fixture
def write_inventory(tmp_path: Path) -> Callable[[Inventory, str], Path]:
    def write(inv: Inventory, name: str = "inventory.json") -> Path:
        path = tmp_path / name
        path.write_text(inv.model_dump_json(indent=1), encoding="utf-8")
        return path

    return write
