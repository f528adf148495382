"""Write a large synthetic inventory (deterministic) for the evaluation benchmark.

Shapes follow what the providers emit: AWS accounts, GCP projects and Azure subscriptions, keys with
mixed rotation, protection and algorithms, and bindings at key, store and scope level.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import orjson

CAPS_ADMIN = ["administer_access", "manage_lifecycle", "destroy", "read_metadata"]
CAPS_USE = ["encrypt", "decrypt"]


def build(keys: int, bindings: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    scopes = (
        [("aws", "aws_account", f"{100000000000 + i}") for i in range(4)]
        + [("gcp", "gcp_project", f"project-{i}") for i in range(3)]
        + [("azure", "azure_subscription", f"00000000-0000-0000-0000-00000000000{i}") for i in range(3)]
    )
    principals = [f"arn:aws:iam::100000000000:role/app-{i}" for i in range(5000)]
    key_docs = []
    for n in range(keys):
        provider, _, scope = scopes[n % len(scopes)]
        rsa = n % 10 == 0
        key_docs.append(
            {
                "provider": provider,
                "uid": f"{provider}:{scope}:key/{n:07d}",
                "scope": scope,
                "location": "eu-west-1",
                "name": f"key-{n}",
                "purpose": "sign" if rsa else "encrypt",
                "key_type": "rsa" if rsa else "symmetric",
                "size_bits": rng.choice([2048, 3072, 1024]) if rsa else 256,
                "protection": rng.choice(["software", "hsm", "hsm", "dedicated_hsm"]),
                "origin": "generated",
                "state": "pending_deletion" if n % 97 == 0 else "enabled",
                "rotation": {"enabled": n % 3 != 0, "period_days": rng.choice([90, 365, 730])},
                "created": "2025-01-01T00:00:00Z",
                "expiry_supported": provider == "azure",
                "multi_region": False,
                "expires": "2027-01-01T00:00:00Z" if provider == "azure" and n % 2 else None,
                "tags": {"data_classification": rng.choice(["public", "confidential", "restricted"])},
            }
        )
    binding_docs = []
    per_key = max(1, bindings // keys)
    for n, key in enumerate(key_docs):
        for j in range(per_key):
            admin = j == 0 or (j == 1 and n % 5 == 0)
            binding_docs.append(
                {
                    "provider": key["provider"],
                    "scope": key["scope"],
                    "principal": principals[(n * 7 + j) % len(principals)],
                    "target": key["uid"],
                    "level": "key",
                    "capabilities": CAPS_ADMIN if admin else CAPS_USE,
                    "source": "key_policy",
                }
            )
    return {
        "schema_version": "1.0",
        "scopes": [{"provider": p, "kind": k, "uid": u, "locations": ["eu-west-1"]} for p, k, u in scopes],
        "keys": key_docs,
        "principals": [{"uid": p, "kind": "role"} for p in principals],
        "bindings": binding_docs,
        "audit_logging": [
            {"provider": p, "scope": u, "location": "eu-west-1", "admin_events": True, "usage_events": True}
            for p, _, u in scopes
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--bindings", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_bytes(orjson.dumps(build(args.keys, args.bindings)))


if __name__ == "__main__":
    main()
