"""Small inventories for pure rule tests: every factory gives a realistic default that overrides adjust."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scanner.inventory import (
    AccessBinding,
    AuditLogCoverage,
    BindingSource,
    Capability,
    CollectionError,
    Encryption,
    ErrorClass,
    Inventory,
    Key,
    KeyManager,
    KeyOrigin,
    KeyPurpose,
    KeyState,
    KeyStore,
    KeyStoreKind,
    KeyType,
    Principal,
    PrincipalKind,
    ProtectedResource,
    ProtectionLevel,
    Provider,
    Rotation,
    Scope,
    ScopeKind,
    ScopeLevel,
)
from scanner.policy import CekPolicy, LoadedPolicy, PolicySource
from scanner.rule import Context

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
REGION = "eu-west-1"

_SCOPE_KIND = {
    Provider.AWS: ScopeKind.AWS_ACCOUNT,
    Provider.GCP: ScopeKind.GCP_PROJECT,
    Provider.AZURE: ScopeKind.AZURE_SUBSCRIPTION,
}


def scope(uid: str = ACCOUNT, provider: Provider = Provider.AWS, **kw: Any) -> Scope:
    kw.setdefault("locations", (REGION,))
    return Scope(provider=provider, kind=_SCOPE_KIND[provider], uid=uid, **kw)


def key(key_id: str = "k1", **kw: Any) -> Key:
    """A healthy AWS symmetric customer key unless told otherwise."""
    provider = kw.pop("provider", Provider.AWS)
    defaults: dict[str, Any] = dict(
        provider=provider,
        uid=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}",
        scope=ACCOUNT,
        location=REGION,
        name=key_id,
        manager=KeyManager.CUSTOMER,
        purpose=KeyPurpose.ENCRYPT,
        key_type=KeyType.SYMMETRIC,
        algorithm="SYMMETRIC_DEFAULT",
        size_bits=256,
        protection=ProtectionLevel.HSM,
        origin=KeyOrigin.GENERATED,
        state=KeyState.ENABLED,
        rotation=Rotation(enabled=True, period_days=365),
        created=datetime(2025, 1, 1, tzinfo=UTC),
    )
    defaults.update(kw)
    return Key(**defaults)


def store(uid: str = "vault1", provider: Provider = Provider.AZURE, **kw: Any) -> KeyStore:
    kw.setdefault("kind", KeyStoreKind.AZURE_VAULT)
    kw.setdefault("scope", ACCOUNT)
    return KeyStore(provider=provider, uid=uid, **kw)


def principal(uid: str, kind: PrincipalKind = PrincipalKind.ROLE, **kw: Any) -> Principal:
    return Principal(uid=uid, kind=kind, **kw)


def binding(
    principal_uid: str,
    target: str,
    *capabilities: Capability,
    level: ScopeLevel = ScopeLevel.KEY,
    source: BindingSource = BindingSource.KEY_POLICY,
    provider: Provider = Provider.AWS,
    **kw: Any,
) -> AccessBinding:
    kw.setdefault("scope", ACCOUNT)
    return AccessBinding(
        provider=provider,
        principal=principal_uid,
        target=target,
        level=level,
        capabilities=frozenset(capabilities),
        source=source,
        **kw,
    )


def audit(scope_uid: str = ACCOUNT, **kw: Any) -> AuditLogCoverage:
    kw.setdefault("provider", Provider.AWS)
    return AuditLogCoverage(scope=scope_uid, **kw)


def error(scope_uid: str = ACCOUNT, api: str = "kms:ListKeys", **kw: Any) -> CollectionError:
    kw.setdefault("provider", Provider.AWS)
    kw.setdefault("error_class", ErrorClass.ACCESS_DENIED)
    kw.setdefault("message", "AccessDeniedException: not authorized")
    return CollectionError(scope=scope_uid, api=api, **kw)


def resource(uid: str = "endpoint-config/ep1", **kw: Any) -> ProtectedResource:
    """An AI resource (SageMaker endpoint config) encrypted with customer key k1 unless told otherwise."""
    kw.setdefault("provider", Provider.AWS)
    kw.setdefault("scope", ACCOUNT)
    kw.setdefault("location", REGION)
    kw.setdefault("service", "sagemaker")
    kw.setdefault("ai_service", "sagemaker")
    kw.setdefault("native_type", "AWS::SageMaker::EndpointConfig")
    kw.setdefault("encryption", Encryption.CUSTOMER_MANAGED)
    kw.setdefault("keys", (f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k1",))
    return ProtectedResource(uid=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{uid}", **kw)


def inventory(**kw: Any) -> Inventory:
    kw.setdefault("scopes", (scope(),))
    return Inventory(**kw)


def context(
    inv: Inventory | None = None,
    policy: CekPolicy | dict[str, Any] | None = None,
    *,
    now: datetime = NOW,
    policy_file: bool = True,
) -> Context:
    """A rule context; ``policy`` as a model or as the YAML mapping, ``policy_file=False`` for built-ins."""
    document = policy if isinstance(policy, CekPolicy) else CekPolicy.model_validate(policy or {})
    source = PolicySource(path="cek-policy.yaml", sha256="0" * 64) if policy_file else None
    return Context.build(inv or inventory(), LoadedPolicy(document=document, source=source), now=now)


def results_by_uid(results: Any) -> dict[str, Any]:
    """Map resource uid to result, failing the test if a rule reports one resource twice."""
    out: dict[str, Any] = {}
    for result in results:
        assert result.resource.uid not in out, f"duplicate result for {result.resource.uid}"
        out[result.resource.uid] = result
    return out
