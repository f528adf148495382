"""The Azure provider plugin, registered under the ``keyaudit.providers`` entry point ``azure``."""

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

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_GROUP = re.compile(r"[A-Za-z0-9._()-]{1,90}")


def subscription_ids(values: Any) -> tuple[str, ...]:
    found = []
    for value in values or ():
        text = str(value).strip().removeprefix("/subscriptions/").strip("/")
        if not _GUID.fullmatch(text):
            raise InputError(f"--subscription {value!r}: expected a subscription id (a GUID)")
        found.append(text.lower())
    return tuple(dict.fromkeys(found))


def management_group(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).strip().rstrip("/").rsplit("/managementGroups/", 1)[-1]
    if not _GROUP.fullmatch(text):
        raise InputError(
            f"--management-group {value!r}: expected a management group id (letters, digits, - _ . ( ))"
        )
    return text


class AzureProvider:
    name = "azure"

    def required_policy(self) -> str:
        """The Azure custom role, the Managed HSM local role and the access-policy permissions (JSON)."""
        import json

        from providers.azure.readonly import required_policy

        return json.dumps(required_policy(), indent=2)

    def demo(self, request: CollectRequest) -> Inventory:
        """The example subscription from recorded responses shipped in the package, through the real code."""
        import json

        from providers.azure.replay import ReplayAdapter, ReplayCredential, reset_key_vault_challenges

        with as_file(files("providers.azure") / "demo_estate.json") as path:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        reset_key_vault_challenges()
        adapter = ReplayAdapter(exchanges=recorded["exchanges"])
        options = {"subscriptions": recorded["subscriptions"], "azure_cloud": recorded.get("cloud", "public")}
        try:
            return self.collect_with(
                CollectRequest(options=options, concurrency=request.concurrency, progress=request.progress),
                credential=ReplayCredential(),
                transport=adapter.transport(),
                retry_total=0,
            )
        finally:
            reset_key_vault_challenges()

    def collect(self, request: CollectRequest) -> Inventory:
        return self.collect_with(request)

    def collect_with(
        self,
        request: CollectRequest,
        *,
        credential: Any = None,
        transport: Any = None,
        retry_total: int | None = None,
    ) -> Inventory:
        """A scan; ``credential``/``transport`` are injected by tests, the demo and the benchmark."""
        from providers.azure.clients import DEFAULT_RETRY_TOTAL, cloud_settings, default_credential
        from providers.azure.collect import AzureCollector, AzureOptions, RawAzureEstate
        from providers.azure.normalise import normalise

        opts = request.options
        options = AzureOptions(
            subscriptions=subscription_ids(opts.get("subscriptions")),
            management_group=management_group(opts.get("management_group")),
            cloud=str(opts.get("azure_cloud") or "public"),
            concurrency=request.concurrency,
            transport=transport,
            retry_total=DEFAULT_RETRY_TOTAL if retry_total is None else retry_total,
            shard=opts.get("shard"),
        )
        started = datetime.now(UTC)
        settings = cloud_settings(options.cloud)
        options.credential = credential or default_credential(settings)
        problem = _credential_problem(options.credential, settings.arm_scope) if credential is None else None
        if problem is not None:
            estate = RawAzureEstate(subscriptions=[], errors=_no_credentials(options, problem))
        else:
            estate = AzureCollector(options, request.progress).collect()
        calls = estate.api_calls or {}
        info = CollectionInfo(
            tool_version=__version__,
            started_at=started,
            finished_at=datetime.now(UTC),
            providers=(Provider.AZURE,),
            notes={
                "azure.cloud": options.cloud,
                "azure.subscriptions": str(len(estate.subscriptions)),
                **call_notes("azure", calls),
            },
        )
        return normalise(estate, info)


def _credential_problem(credential: Any, scope: str) -> str | None:
    """Why ``DefaultAzureCredential`` cannot sign in (asked once, not once per call), or None."""
    try:
        credential.get_token(scope)
    except Exception as exc:  # CredentialUnavailableError, ClientAuthenticationError, IMDS or config errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no usable Azure credential (DefaultAzureCredential): {first[:300]}"
    return None


def _no_credentials(options: Any, message: str) -> list[CollectionError]:
    scopes = list(options.subscriptions) or [options.management_group or "tenant"]
    hint = "; sign in with `az login`, set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or use a managed identity"
    return [
        CollectionError(
            provider=Provider.AZURE,
            scope=scope,
            api="azure.identity.DefaultAzureCredential",
            error_class=ErrorClass.ACCESS_DENIED,
            message=message + hint,
        )
        for scope in scopes
    ]
