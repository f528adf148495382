"""Fill moto's gaps so a simulated AWS estate answers like the real KMS (demo and tests only).

moto (the ``keyaudit[demo]`` extra) lacks custom key stores, stores no rotation period and leaves out
several DescribeKey fields. We add them the way moto itself is extended: by replacing methods of its
response class, so boto3's real parser still reads the wire format. Values live in a registry keyed
by account and region, next to moto's own state, and are cleared with it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any


@dataclass
class _Extras:
    # key id -> fields merged into DescribeKey's KeyMetadata
    key_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    # key id -> rotation period in days (moto accepts RotationPeriodInDays but drops it)
    rotation_periods: dict[str, int] = field(default_factory=dict)
    custom_key_stores: list[dict[str, Any]] = field(default_factory=list)


_REGISTRY: dict[tuple[str, str], _Extras] = defaultdict(_Extras)


def extras(account: str, region: str) -> _Extras:
    return _REGISTRY[(account, region)]


def reset() -> None:
    _REGISTRY.clear()


def add_custom_key_store(account: str, region: str, store: dict[str, Any]) -> None:
    extras(account, region).custom_key_stores.append(store)


def set_key_metadata(account: str, region: str, key_id: str, **fields: Any) -> None:
    extras(account, region).key_metadata.setdefault(key_id, {}).update(fields)


def set_rotation_period(account: str, region: str, key_id: str, days: int) -> None:
    extras(account, region).rotation_periods[key_id] = days


@cache
def patch_moto() -> None:
    """Install the extensions, once per process (``cache`` makes later calls no-ops)."""
    from moto.kms.responses import KmsResponse

    original_describe = KmsResponse.describe_key
    original_rotation = KmsResponse.get_key_rotation_status
    original_enable_rotation = KmsResponse.enable_key_rotation

    def describe_key(self: Any) -> str:
        answer = json.loads(original_describe(self))
        metadata = answer["KeyMetadata"]
        metadata.update(extras(self.current_account, self.region).key_metadata.get(metadata["KeyId"], {}))
        return json.dumps(answer)

    def get_key_rotation_status(self: Any) -> str:
        answer = json.loads(original_rotation(self))
        key_id = self.kms_backend.get_key_id(self._get_param("KeyId"))
        period = extras(self.current_account, self.region).rotation_periods.get(key_id)
        if answer.get("KeyRotationEnabled"):
            period = period or 365
            answer["RotationPeriodInDays"] = period
            key = self.kms_backend.describe_key(key_id)
            created = datetime.fromtimestamp(key.creation_date, tz=UTC)
            elapsed = (datetime.now(UTC) - created).days
            next_rotation = created + timedelta(days=period * (elapsed // period + 1))
            answer["NextRotationDate"] = next_rotation.timestamp()
        return json.dumps(answer)

    def enable_key_rotation(self: Any) -> str:
        period = self._get_param("RotationPeriodInDays")
        if period is not None:
            key_id = self.kms_backend.get_key_id(self._get_param("KeyId"))
            set_rotation_period(self.current_account, self.region, key_id, int(period))
        result: str = original_enable_rotation(self)
        return result

    def describe_custom_key_stores(self: Any) -> str:
        stores = extras(self.current_account, self.region).custom_key_stores
        wanted_id = self._get_param("CustomKeyStoreId")
        wanted_name = self._get_param("CustomKeyStoreName")
        selected = [
            s
            for s in stores
            if (wanted_id is None or s["CustomKeyStoreId"] == wanted_id)
            and (wanted_name is None or s.get("CustomKeyStoreName") == wanted_name)
        ]
        return json.dumps({"CustomKeyStores": selected, "Truncated": False})

    KmsResponse.describe_key = describe_key  # type: ignore[method-assign]
    KmsResponse.get_key_rotation_status = get_key_rotation_status  # type: ignore[method-assign]
    KmsResponse.enable_key_rotation = enable_key_rotation  # type: ignore[method-assign]
    KmsResponse.describe_custom_key_stores = describe_custom_key_stores  # type: ignore[attr-defined]
