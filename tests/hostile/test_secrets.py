"""Credentials in the environment, in a ``--state`` URL or in a ``--to`` URL never come out of keyaudit.

The real CLI runs in subprocesses with distinctive secret values: AWS keys and session token, the
Splunk HEC token, Elasticsearch API key and password, the Azure client secret, a GCP service-account
key's private key, a PostgreSQL password. Every endpoint is a loopback fake that refuses them (AWS,
Google's token endpoint, Splunk HEC, Elasticsearch, and an HTTPS proxy that Microsoft Entra sign-in has
to go through), so the runs fail or degrade the way real ones do. Then every byte they produced is
searched: stdout, stderr (JSON and console logs, verbose), output files, the evidence bundle, the
delivery spool and the state store. Each test also checks that the secret was really used (the fake
saw it), so a test cannot pass because a credential was never read.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.postgres import LocalPostgres

REPO = Path(__file__).resolve().parents[2]
TOKEN = secrets.token_hex(6)  # differs per run: no fixed string in the code base can match by chance
SECRET = {
    "AWS_SECRET_ACCESS_KEY": f"awsSecret{TOKEN}Sentinel",
    "AWS_SESSION_TOKEN": f"awsSession{TOKEN}Sentinel",
    "KEYAUDIT_SPLUNK_HEC_TOKEN": f"hecToken{TOKEN}Sentinel",
    "KEYAUDIT_ELASTIC_API_KEY": f"elasticApiKey{TOKEN}Sentinel",
    "KEYAUDIT_ELASTIC_PASSWORD": f"elastic Password{TOKEN}Sentinel!",
    "AZURE_CLIENT_SECRET": f"azureSecret~{TOKEN}.Sentinel",
}
PG_PASSWORD = f"pgPass{TOKEN}Sentinel"
URL_PASSWORD = f"urlPass{TOKEN}Sentinel"
ACCESS_KEY_ID = "AKIAKEYAUDITTEST0001"  # an id, not a secret: used to prove the signature was made
ELASTIC_USER = "keyaudit-writer"


# ------------------------------------------------------------------------------------------ loopback fakes
@dataclass
class Seen:
    role: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Fakes:
    ports: dict[str, int] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    servers: list[ThreadingHTTPServer] = field(default_factory=list)

    def requests(self, role: str) -> list[Seen]:
        return [s for s in self.seen if s.role == role]


_AWS_XML = (
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    b"<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
    b"</Message></Error><RequestId>4c0ffee0-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
)
_AWS_JSON = b'{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}'
# What each fake answers: (status, headers, body). They refuse the credentials the way the real services do.
_ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "gcp": (
        400,
        {"Content-Type": "application/json"},
        b'{"error":"invalid_grant","error_description":"Invalid JWT Signature."}',
    ),
    "hec": (403, {"Content-Type": "application/json"}, b'{"text":"Invalid token","code":4}'),
    "elastic": (
        401,
        {
            "Content-Type": "application/json",
            "X-Elastic-Product": "Elasticsearch",
            "WWW-Authenticate": 'ApiKey, Basic realm="security"',
        },
        b'{"error":{"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request"},"status":401}',
    ),
    "proxy": (403, {}, b""),  # refuses every CONNECT: nothing leaves the machine
}


def _handler(fakes: Fakes, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fakes.seen.append(Seen(role, self.command, self.path, dict(self.headers.items()), body))
            if role == "aws":
                is_json = "json" in (self.headers.get("Content-Type") or "")
                status, headers, answer = (
                    (
                        400,
                        {
                            "Content-Type": "application/x-amz-json-1.1",
                            "x-amzn-ErrorType": "UnrecognizedClientException",
                        },
                        _AWS_JSON,
                    )
                    if is_json
                    else (403, {"Content-Type": "text/xml"}, _AWS_XML)
                )
            else:
                status, headers, answer = _ANSWERS[role]
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(answer))}.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_CONNECT = _answer

    return Handler


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    state = Fakes()
    for role in ("aws", "gcp", "hec", "elastic", "proxy"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state, role))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        state.servers.append(server)
        state.ports[role] = server.server_address[1]
    yield state
    for server in state.servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def gcp_key(tmp_path_factory: pytest.TempPathFactory, fakes: Fakes) -> tuple[Path, str]:
    """A service-account key file whose private key is fresh; Google's token endpoint is the fake."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path_factory.mktemp("gcp-key") / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "example-prod",
                "private_key_id": "0123456789abcdef",
                "private_key": pem,
                "client_email": "keyaudit@example-prod.iam.gserviceaccount.com",
                "client_id": "100000000000000000001",
                "token_uri": f"http://127.0.0.1:{fakes.ports['gcp']}/token",
            }
        ),
        encoding="utf-8",
    )
    return path, pem


# ------------------------------------------------------------------------------------------------ runs
@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    directory: Path


def _environment(tmp: Path, fakes: Fakes, gcp_key: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_", "GOOGLE_", "KEYAUDIT_"))
    }
    env.update(SECRET)
    # Elasticsearch takes an API key or a user and password, not both: the password is sent by its own test.
    del env["KEYAUDIT_ELASTIC_PASSWORD"]
    env.update(
        HOME=str(tmp / "home"),  # anything a library caches under the home directory is searched too
        XDG_DATA_HOME=str(tmp / "data"),  # the default state store
        KEYAUDIT_SPOOL_DIR=str(tmp / "spool"),
        KEYAUDIT_DELIVERY_ATTEMPTS="1",
        KEYAUDIT_DELIVERY_BUDGET="10",
        AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{fakes.ports['aws']}",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        GOOGLE_APPLICATION_CREDENTIALS=str(gcp_key),
        CLOUDSDK_CONFIG=str(tmp / "gcloud"),
        NO_GCE_CHECK="True",
        AZURE_TENANT_ID="72f988bf-0000-4000-8000-000000000001",
        AZURE_CLIENT_ID="04b07795-0000-4000-8000-000000000002",
        # Entra ID sign-in and anything else bound for the internet goes through the refusing proxy.
        HTTPS_PROXY=f"http://127.0.0.1:{fakes.ports['proxy']}",
        HTTP_PROXY=f"http://127.0.0.1:{fakes.ports['proxy']}",
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def keyaudit(tmp: Path, env: dict[str, str], *args: str) -> Outcome:
    (tmp / "home").mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=180, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return Outcome(result.returncode, result.stdout, result.stderr, tmp)


def needles(pem: str = "") -> dict[str, bytes]:
    """Every secret, and the forms it could leak in: URL-quoted, inside HTTP basic auth, key lines."""
    found: dict[str, bytes] = {}
    for name, value in {**SECRET, "PG_PASSWORD": PG_PASSWORD, "URL_PASSWORD": URL_PASSWORD}.items():
        found[name] = value.encode()
        found[f"{name} (URL-quoted)"] = quote(value, safe="").encode()
    basic = base64.b64encode(f"{ELASTIC_USER}:{SECRET['KEYAUDIT_ELASTIC_PASSWORD']}".encode())
    found["KEYAUDIT_ELASTIC_PASSWORD (basic auth)"] = basic
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    for n, line in enumerate(body):
        found[f"GCP private key, line {n + 1}"] = line.encode()
    return found


def assert_no_secret_anywhere(outcome: Outcome, pem: str = "", *, except_files: tuple[Path, ...] = ()) -> int:
    """Search stdout, stderr and every file under the run's directory; the number of files searched."""
    places: dict[str, bytes] = {"stdout": outcome.stdout.encode(), "stderr": outcome.stderr.encode()}
    for path in sorted(outcome.directory.rglob("*")):
        if path.is_file() and path not in except_files:
            places[str(path.relative_to(outcome.directory))] = path.read_bytes()
    leaks = [
        f"{name} in {place}"
        for place, data in places.items()
        for name, needle in needles(pem).items()
        if needle in data
    ]
    assert leaks == [], leaks
    return len(places) - 2


def log_events(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


# ----------------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_scan_that_fails_on_refused_aws_credentials(
    tmp_path: Path, fakes: Fakes, gcp_key, log_format: str
) -> None:
    key_file, pem = gcp_key
    env = _environment(tmp_path, fakes, key_file)
    before = len(fakes.requests("aws"))
    outcome = keyaudit(
        tmp_path, env, "scan", "aws", "--region", "eu-west-1", "--log-format", log_format, "-v",
        "--format", "json", "--format", "html", "-o", "out", "--evidence", "evidence",
        "--to", f"splunk-hec://127.0.0.1:{fakes.ports['hec']}?tls=false",
        "--to", f"elastic://127.0.0.1:{fakes.ports['elastic']}?tls=false",
        "--metrics-file", "metrics.prom",
    )  # fmt: skip
    assert outcome.code == 1, outcome.stderr
    assert "AWS credentials are not usable: InvalidClientTokenId" in outcome.stderr
    # The session token really went out (signed requests to the fake endpoint), and came back nowhere.
    sent = fakes.requests("aws")[before:]
    assert sent and all(s.headers.get("X-Amz-Security-Token") == SECRET["AWS_SESSION_TOKEN"] for s in sent)
    assert all(f"Credential={ACCESS_KEY_ID}/" in s.headers.get("Authorization", "") for s in sent)
    assert (tmp_path / "metrics.prom").exists()  # written for the failed run too: searched below
    assert assert_no_secret_anywhere(outcome, pem) >= 2


def test_a_completed_scan_with_refused_cloud_and_siem_credentials(
    tmp_path: Path, fakes: Fakes, gcp_key
) -> None:
    key_file, pem = gcp_key
    env = _environment(tmp_path, fakes, key_file)
    before = {role: len(fakes.requests(role)) for role in fakes.ports}
    outcome = keyaudit(
        tmp_path, env, "scan", "gcp", "azure", "-v", "--log-format", "json",
        "--project", "example-prod", "--gcp-endpoint", f"http://127.0.0.1:{fakes.ports['gcp']}",
        "--subscription", "8f3c2a1d-5b6e-4c7f-9a0b-1d2e3f4a5b6c",
        *(a for fmt in ("json", "html", "csv", "ocsf", "table") for a in ("--format", fmt)), "-o", "out",
        "--evidence", "evidence", "--save-inventory", "inventory.json",
        "--to", f"splunk-hec://127.0.0.1:{fakes.ports['hec']}?tls=false",
        "--to", f"elastic://127.0.0.1:{fakes.ports['elastic']}?tls=false",
    )  # fmt: skip
    assert outcome.code == 3, outcome.stderr  # the clouds could not be read: coverage findings
    native = json.loads((tmp_path / "out" / "keyaudit-report.json").read_text(encoding="utf-8"))
    apis = {gap["api"] for gap in native["scan"]["coverage"]}
    assert "azure.identity.DefaultAzureCredential" in apis, apis
    events = {e["event"] for e in log_events(outcome.stderr)}
    assert {"evidence.written", "delivery.incomplete"} <= events, events
    # Each credential was used and refused: Google's token endpoint got a signed assertion, the sign-in
    # to Entra ID reached the proxy, Splunk and Elasticsearch got their token and key.
    gcp = fakes.requests("gcp")[before["gcp"] :]
    assert any(s.path == "/token" and b"assertion=" in s.body for s in gcp)
    assert any(
        s.method == "CONNECT" and s.path.startswith("login.microsoftonline.com:")
        for s in fakes.requests("proxy")
    )
    hec = fakes.requests("hec")[before["hec"] :]
    assert hec and all(
        s.headers["Authorization"] == f"Splunk {SECRET['KEYAUDIT_SPLUNK_HEC_TOKEN']}" for s in hec
    )
    elastic = fakes.requests("elastic")[before["elastic"] :]
    assert elastic and all(
        s.headers.get("authorization") == f"ApiKey {SECRET['KEYAUDIT_ELASTIC_API_KEY']}" for s in elastic
    )
    assert list((tmp_path / "spool").rglob("batch-*")), "the refused events wait in the spool (searched too)"
    assert assert_no_secret_anywhere(outcome, pem) >= 10


def test_send_with_refused_basic_auth(tmp_path: Path, fakes: Fakes, gcp_key) -> None:
    key_file, _pem = gcp_key
    env = _environment(tmp_path, fakes, key_file)
    del env["KEYAUDIT_ELASTIC_API_KEY"]  # user and password instead
    env.update(
        KEYAUDIT_ELASTIC_USERNAME=ELASTIC_USER, KEYAUDIT_ELASTIC_PASSWORD=SECRET["KEYAUDIT_ELASTIC_PASSWORD"]
    )
    before = len(fakes.requests("elastic"))
    outcome = keyaudit(
        tmp_path, env, "send", str(REPO / "samples" / "report.json"), "-v", "--log-format", "console",
        "--to", f"elastic://127.0.0.1:{fakes.ports['elastic']}?tls=false",
    )  # fmt: skip
    assert outcome.code == 1, outcome.stderr
    basic = base64.b64encode(f"{ELASTIC_USER}:{SECRET['KEYAUDIT_ELASTIC_PASSWORD']}".encode()).decode()
    sent = fakes.requests("elastic")[before:]
    assert sent and all(s.headers.get("authorization") == f"Basic {basic}" for s in sent)
    assert assert_no_secret_anywhere(outcome) >= 1


@pytest.mark.parametrize(
    "url",
    [
        f"syslog+tcp://collector:{URL_PASSWORD}@127.0.0.1:6514",
        f"elastic://elastic:{quote(URL_PASSWORD)}@127.0.0.1:9200?tls=false",
        f"splunk-hec://127.0.0.1:8088?token={URL_PASSWORD}&tls=false",
        f"opensearch://127.0.0.1:9200?password={URL_PASSWORD}",
        f"sentinel://admin:{URL_PASSWORD}@dce.example.invalid/rule?stream=Custom",
        f"syslog+tcp://collector:{URL_PASSWORD}@127.0.0.1:notaport",  # refused before it is understood
        f"nosuchscheme://user:{URL_PASSWORD}@127.0.0.1:1",
    ],
    ids=[
        "syslog-userinfo",
        "elastic-userinfo",
        "hec-query",
        "opensearch-query",
        "sentinel",
        "bad-port",
        "unknown",
    ],
)
def test_a_password_in_a_destination_url_is_refused_and_never_shown(
    tmp_path: Path, fakes: Fakes, gcp_key, url: str
) -> None:
    key_file, _pem = gcp_key
    env = _environment(tmp_path, fakes, key_file)
    outcome = keyaudit(
        tmp_path, env, "evaluate", str(REPO / "samples" / "inventory-multicloud.json"), "--to", url
    )
    assert outcome.code == 2, outcome.stderr
    assert "--to" in outcome.stderr and "Traceback" not in outcome.stderr
    assert assert_no_secret_anywhere(outcome) >= 0


@pytest.mark.parametrize(
    ("how", "log_format"), [("flag", "json"), ("environment", "console"), ("history", None)]
)
def test_a_postgres_password_stays_out_when_the_server_cannot_be_reached(
    tmp_path: Path, fakes: Fakes, gcp_key, how: str, log_format: str | None
) -> None:
    key_file, _pem = gcp_key
    env = _environment(tmp_path, fakes, key_file)
    state = f"postgresql://keyaudit:{PG_PASSWORD}@127.0.0.1:1/keyaudit"
    command = [
        "evaluate",
        str(REPO / "samples" / "inventory-multicloud.json"),
        "-v",
        "--format",
        "json",
        "-o",
        "out.json",
    ]
    if how == "history":
        command = ["history", "--state", state]
    elif how == "flag":
        command += ["--state", state, "--log-format", str(log_format)]
    else:
        env["KEYAUDIT_STATE"] = state
        command += ["--log-format", str(log_format)]
    outcome = keyaudit(tmp_path, env, *command)
    assert outcome.code == 1, outcome.stderr
    assert "127.0.0.1" in outcome.stderr and "Traceback" not in outcome.stderr, outcome.stderr
    assert_no_secret_anywhere(outcome)


def test_a_postgres_password_stays_out_when_the_server_refuses_it(
    tmp_path: Path, fakes: Fakes, gcp_key, postgres_server: LocalPostgres
) -> None:
    """A real PostgreSQL (this session's throwaway cluster) rejecting the password: an auth failure."""
    key_file, _pem = gcp_key
    env = _environment(tmp_path, fakes, key_file)
    wrong = postgres_server.url().replace(f":{quote(postgres_server.password, safe='')}@", f":{PG_PASSWORD}@")
    assert PG_PASSWORD in wrong
    inventory = str(REPO / "samples" / "inventory-multicloud.json")
    outcome = keyaudit(
        tmp_path, env, "evaluate", inventory, "--state", wrong, "-v", "--format", "json", "-o", "out.json"
    )
    assert outcome.code == 1, outcome.stderr
    assert "password authentication failed" in outcome.stderr, outcome.stderr
    assert_no_secret_anywhere(outcome)
