"""AWS KMS (and IAM escalation) actions -> provider-neutral capabilities (pure, no SDK import).

``ACTIONS`` is the one table: every IAM action name of the AWS KMS API (rule catalogue 4.1), plus the IAM
actions with which a principal can give itself KMS access wherever a key policy delegates to the account.
Names are as IAM policies spell them (``kms:ReEncryptFrom`` / ``kms:ReEncryptTo``: the ``ReEncrypt`` API
has no action of its own). The KMS list follows the botocore service model (``kms`` 2014-11-01).

``capabilities_for`` expands IAM action patterns (``*``, ``kms:*``, ``kms:Get*``, ``kms:ReEncrypt*``,
``?``) over the table the way IAM does: the whole ``service:action`` name, case-insensitively. Patterns
that match nothing in the table (other services, unknown or misspelt actions) are ignored.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType

from providers import capsets as caps
from scanner.inventory import Capability

_KMS: dict[str, frozenset[Capability]] = {
    # --- change who can do what --------------------------------------------------------------------
    "PutKeyPolicy": caps.ADMIN,
    "CreateGrant": caps.ADMIN,  # a grant can give any principal any grant operation on the key
    "ReplicateKey": caps.ADMIN,  # the replica gets a key policy of the caller's choosing
    # --- lifecycle ---------------------------------------------------------------------------------
    "EnableKey": caps.LIFECYCLE,
    "DisableKey": caps.LIFECYCLE,
    "EnableKeyRotation": caps.LIFECYCLE,
    "DisableKeyRotation": caps.LIFECYCLE,
    "RotateKeyOnDemand": caps.LIFECYCLE,
    "UpdateKeyDescription": caps.LIFECYCLE,
    "CreateAlias": caps.LIFECYCLE,
    "UpdateAlias": caps.LIFECYCLE,
    "DeleteAlias": caps.LIFECYCLE,
    "RevokeGrant": caps.LIFECYCLE,
    "RetireGrant": caps.LIFECYCLE,
    "UpdatePrimaryRegion": caps.LIFECYCLE,
    "CancelKeyDeletion": caps.LIFECYCLE,
    "TagResource": caps.LIFECYCLE,  # also access-relevant where tag-based (ABAC) conditions are used
    "UntagResource": caps.LIFECYCLE,
    # --- destruction -------------------------------------------------------------------------------
    "ScheduleKeyDeletion": caps.DESTROY,
    "DeleteImportedKeyMaterial": caps.DESTROY,
    # --- key material import (BYOK) ----------------------------------------------------------------
    "ImportKeyMaterial": caps.IMPORT,
    "GetParametersForImport": caps.IMPORT,
    # --- cryptographic use -------------------------------------------------------------------------
    # Protect only: the caller never sees plaintext it did not bring.
    "Encrypt": caps.ENCRYPT,
    "ReEncryptTo": caps.ENCRYPT,
    "GenerateDataKeyWithoutPlaintext": caps.ENCRYPT,
    "GenerateDataKeyPairWithoutPlaintext": caps.ENCRYPT,
    "Encapsulate": caps.ENCRYPT,  # ML-KEM: public-key operation, like Encrypt with an asymmetric key
    # Reveal: the caller obtains plaintext or secret material protected by the key.
    "Decrypt": caps.DECRYPT,
    "ReEncryptFrom": caps.DECRYPT,
    "GenerateDataKey": caps.DECRYPT,
    "GenerateDataKeyPair": caps.DECRYPT,
    "DeriveSharedSecret": caps.DECRYPT,
    "Decapsulate": caps.DECRYPT,  # ML-KEM: recovers the shared secret with the private key
    "Sign": caps.SIGN,
    "GenerateMac": caps.SIGN,
    "Verify": caps.VERIFY,
    "VerifyMac": caps.VERIFY,
    # --- metadata ----------------------------------------------------------------------------------
    "DescribeKey": caps.READ,
    "GetKeyPolicy": caps.READ,
    "GetKeyRotationStatus": caps.READ,
    "GetKeyLastUsage": caps.READ,
    # A public key is public by design: using it outside KMS is not a use KMS controls.
    "GetPublicKey": caps.READ,
    "ListAliases": caps.READ,  # account-wide listing (not resource-scoped), metadata only
    "ListGrants": caps.READ,
    "ListKeyPolicies": caps.READ,
    "ListKeyRotations": caps.READ,
    "ListKeys": caps.READ,  # account-wide listing (not resource-scoped), metadata only
    "ListResourceTags": caps.READ,
    "ListRetirableGrants": caps.READ,
    "DescribeCustomKeyStores": caps.READ,
    # --- not about an existing key -----------------------------------------------------------------
    # CreateKey makes a new key (whose creator writes its policy); it gives no power over existing keys.
    "CreateKey": caps.NOTHING,
    "GenerateRandom": caps.NOTHING,  # no key involved
    # Custom key stores: connecting, disconnecting or re-pointing a store makes every key in it usable or
    # unusable, like EnableKey/DisableKey. Creating a store touches no key; deleting one requires it to
    # hold no keys any more.
    "ConnectCustomKeyStore": caps.LIFECYCLE,
    "DisconnectCustomKeyStore": caps.LIFECYCLE,
    "UpdateCustomKeyStore": caps.LIFECYCLE,
    "CreateCustomKeyStore": caps.NOTHING,
    "DeleteCustomKeyStore": caps.NOTHING,
}

# Policy-changing IAM actions: with them a principal can attach or write a policy that gives itself (or a
# role it can assume) KMS permissions, which take effect on every key whose key policy delegates to the
# account. Credential-creating actions (CreateAccessKey, ...) are deliberately not listed.
IAM_ESCALATION_ACTIONS: frozenset[str] = frozenset(
    {
        "iam:PutUserPolicy",
        "iam:PutRolePolicy",
        "iam:PutGroupPolicy",
        "iam:AttachUserPolicy",
        "iam:AttachRolePolicy",
        "iam:AttachGroupPolicy",
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:AddUserToGroup",
        "iam:UpdateAssumeRolePolicy",
    }
)

KMS_ACTIONS: frozenset[str] = frozenset(f"kms:{name}" for name in _KMS)

# The one table: IAM action name (canonical spelling) -> capabilities.
ACTIONS: Mapping[str, frozenset[Capability]] = MappingProxyType(
    {
        **{f"kms:{name}": caps for name, caps in sorted(_KMS.items())},
        **{name: caps.ADMIN for name in sorted(IAM_ESCALATION_ACTIONS)},
    }
)

_BY_LOWER_NAME: Mapping[str, str] = MappingProxyType({name.lower(): name for name in ACTIONS})


@lru_cache(maxsize=4096)
def _matching(pattern: str) -> frozenset[str]:
    """Table actions matched by one IAM action pattern (``*`` any run of characters, ``?`` one)."""
    lowered = pattern.strip().lower()
    if "*" not in lowered and "?" not in lowered:
        exact = _BY_LOWER_NAME.get(lowered)
        return frozenset({exact}) if exact is not None else frozenset()
    # fnmatch's translation matches each segment atomically (no exponential backtracking on a hostile
    # "a*a*a*...b"); "[" is a literal in IAM, so it is escaped for fnmatch.
    regex = re.compile(fnmatch.translate(lowered.replace("[", "[[]")), re.DOTALL)
    return frozenset(name for low, name in _BY_LOWER_NAME.items() if regex.fullmatch(low))


def matching_actions(action_patterns: Iterable[str], *, negate: bool = False) -> frozenset[str]:
    """Names from ``ACTIONS`` matched by any of the patterns (``negate``: those matched by none, NotAction)."""
    matched: frozenset[str] = frozenset().union(*(_matching(p) for p in action_patterns))
    return frozenset(ACTIONS.keys() - matched) if negate else matched


def capabilities_for(action_patterns: Iterable[str], *, negate: bool = False) -> frozenset[Capability]:
    """Capabilities of every table action the patterns match (``negate=True``: of every action they don't)."""
    return frozenset().union(*(ACTIONS[name] for name in matching_actions(action_patterns, negate=negate)))
