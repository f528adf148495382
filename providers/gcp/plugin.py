"""The GCP provider plugin, registered under the ``keyaudit.providers`` entry point ``gcp``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib.resources import as_file, files
from typing import Any

from providers.recorder import call_notes
from scanner import __version__
from scanner.errors import InputError
from scanner.inventory import CollectionError, CollectionInfo, ErrorClass, Inventory, Provider
from scanner.provider import CollectRequest

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_NUMERIC = re.compile(r"\d+")
# Project ids are lowercase letters, digits and hyphens, optionally domain-scoped ("example.com:proj");
# accept anything path-safe and let the API say whether it exists.
_PROJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,99}")


def container_name(kind: str, value: str | None, flag: str) -> str | None:
    """``--organization 123`` / ``organizations/123`` -> ``organizations/123`` (likewise folders)."""
    if value is None or value == "":
        return None
    text = value.strip()
    if text.startswith(f"{kind}/"):
        text = text[len(kind) + 1 :]
    if not _NUMERIC.fullmatch(text):
        raise InputError(f"{flag} {value!r}: expected a numeric {kind[:-1]} id such as 123456789012")
    return f"{kind}/{text}"


def project_ids(values: Any) -> tuple[str, ...]:
    found = []
    for value in values or ():
        text = str(value).strip().removeprefix("projects/")
        if not _PROJECT_ID.fullmatch(text):
            raise InputError(
                f"--project {value!r}: expected a project id such as my-project-123 (letters, digits, hyphens)"
            )
        found.append(text)
    return tuple(dict.fromkeys(found))


class GcpProvider:
    name = "gcp"

    def required_policy(self) -> str:
        """A custom role (JSON) holding exactly the read-only permissions the scan needs."""
        import json

        from providers.gcp.readonly import required_role

        return json.dumps(required_role(), indent=2)

    def demo(self, request: CollectRequest) -> Inventory:
        """The Acme organization from recorded responses shipped in the package, through the real code."""
        import json

        from providers.gcp.replay import ReplayServer

        with as_file(files("providers.gcp") / "demo_estate.json") as path:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        with ReplayServer(exchanges=recorded["exchanges"]) as server:
            options = {"organization": recorded["organization"], "gcp_endpoint": server.url}
            return self._collect(
                CollectRequest(options=options, concurrency=request.concurrency, progress=request.progress),
                anonymous=True,
            )

    def collect(self, request: CollectRequest) -> Inventory:
        return self._collect(request)

    def _collect(self, request: CollectRequest, *, anonymous: bool = False) -> Inventory:
        from providers.gcp.clients import normalise_endpoint
        from providers.gcp.collect import GcpCollector, GcpOptions, RawGcpEstate
        from providers.gcp.normalise import normalise

        opts = request.options
        endpoint = opts.get("gcp_endpoint") or None
        if endpoint:
            try:
                endpoint = normalise_endpoint(endpoint)
            except ValueError as exc:
                raise InputError(f"--gcp-endpoint: {exc}") from exc
        options = GcpOptions(
            projects=project_ids(opts.get("projects")),
            organization=container_name("organizations", opts.get("organization"), "--organization"),
            folder=container_name("folders", opts.get("folder"), "--folder"),
            endpoint=endpoint,
            concurrency=request.concurrency,
            anonymous=anonymous,
            shard=opts.get("shard"),
        )
        started = datetime.now(UTC)
        credential_error = None
        if not anonymous:
            options.credentials, options.anonymous, credential_error = _credentials(endpoint)
        if credential_error is not None:
            estate = RawGcpEstate(projects=[], errors=_no_credentials(options, credential_error))
        else:
            estate = GcpCollector(options, request.progress).collect()
        calls = estate.api_calls
        notes = {
            "gcp.projects": str(len(estate.projects)),
            **call_notes("gcp", calls),
            "gcp.custom_roles_resolved": str(len(estate.custom_roles)),
        }
        notes |= {f"gcp.path[{scope}]": path for scope, path in sorted(estate.paths.items())}
        if endpoint:
            notes["gcp.endpoint"] = _without_userinfo(endpoint)
        info = CollectionInfo(
            tool_version=__version__,
            started_at=started,
            finished_at=datetime.now(UTC),
            providers=(Provider.GCP,),
            notes=notes,
        )
        return normalise(estate, info)


def _credentials(endpoint: str | None) -> tuple[Any, bool, str | None]:
    """(credentials, anonymous, error): Application Default Credentials, resolved once for every client.

    Without ADC, a loopback ``--gcp-endpoint`` (a local replay or emulator) is read anonymously; anywhere
    else the missing credentials are reported as a collection error (the scan's coverage fails).
    """
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    from providers.gcp.clients import is_loopback_endpoint

    try:
        credentials, _project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])  # type: ignore[no-untyped-call]
    except DefaultCredentialsError as exc:
        if endpoint and is_loopback_endpoint(endpoint):
            import structlog

            structlog.get_logger("keyaudit.gcp").warning(
                "gcp.credentials.anonymous",
                reason="no Application Default Credentials; the endpoint is on this machine",
            )
            return None, True, None
        return None, False, f"no Application Default Credentials: {str(exc).splitlines()[0][:300]}"
    return credentials, False, None


def _no_credentials(options: Any, message: str) -> list[CollectionError]:
    scopes = [*options.containers, *options.projects] or ["gcp"]
    hint = (
        "; run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS or use a "
        "workload identity"
    )
    return [
        CollectionError(
            provider=Provider.GCP,
            scope=scope,
            api="google.auth.default",
            error_class=ErrorClass.ACCESS_DENIED,
            message=message + hint,
        )
        for scope in scopes
    ]


def _without_userinfo(endpoint: str) -> str:
    """The endpoint as recorded in the report: never a ``user:password@`` part."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
