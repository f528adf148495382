"""The demo AWS Organization (providers/aws/demo.py), scanned through the real collector and normaliser
and judged with every rule against samples/cek-policy.yaml, the policy ``keyaudit demo`` uses."""

from __future__ import annotations

import time
from collections import defaultdict

from moto.kms import models as moto_kms_models

from providers.aws.collect import AwsCollector, AwsOptions
from providers.aws.demo import DEFAULT_REGIONS, build_demo_estate
from providers.aws.normalise import normalise
from scanner.engine import discover_rules, evaluate_all
from scanner.inventory import ADMIN_CAPABILITIES, Capability, Encryption, KeyOrigin, Provider
from scanner.policy import load_policy
from scanner.progress import NullProgress
from scanner.rule import Context, Status
from tests.conftest import REPO

# Rules whose META names AWS but which AWS data cannot reach (with the reason), so the demo cannot
# make them both pass and fail. Empty today: every AWS rule is covered.
INAPPLICABLE_TO_AWS: dict[str, str] = {}
PER_KEY_OPERATIONS = (
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "kms:GetKeyPolicy",
    "kms:ListGrants",
    "kms:ListResourceTags",
)


def test_demo_estate_is_a_realistic_organization_where_every_aws_rule_passes_and_fails(aws: None) -> None:
    generate_private_key = moto_kms_models.generate_private_key
    started = time.perf_counter()
    estate = build_demo_estate()
    built = time.perf_counter() - started
    assert moto_kms_models.generate_private_key is generate_private_key  # fast key generation undone

    started = time.perf_counter()
    raw = AwsCollector(AwsOptions(regions=estate.regions, org_role=estate.org_role), NullProgress()).collect()
    inventory = normalise(raw)
    scanned = time.perf_counter() - started
    customer_keys = [k for k in inventory.keys if k.is_customer_managed]
    per_key_calls = sum(raw.api_calls[op] for op in PER_KEY_OPERATIONS) / len(customer_keys)
    print(
        f"\ndemo estate: built in {built:.2f} s, scanned in {scanned:.2f} s; {len(customer_keys)} customer "
        f"keys in {len(inventory.scopes)} accounts; {per_key_calls:.2f} per-key API calls per key"
    )

    # Shape: the organization's accounts, both regions, 30+ customer keys.
    assert estate.regions == DEFAULT_REGIONS
    reachable = {s.uid for s in inventory.scopes if not s.unreadable}
    assert len(reachable) >= 2
    assert {s.uid for s in inventory.scopes} == set(estate.account_ids)
    assert {k.location for k in customer_keys} == set(estate.regions)
    assert len(customer_keys) >= 30
    # The one coverage gap is the account whose access role cannot be assumed.
    assert {(e.scope, e.api) for e in inventory.errors} == {
        (account, "sts:AssumeRole") for account in estate.unreachable_accounts
    }

    # Collection cost: at most five per-key calls per key on average (DescribeKey, GetKeyRotationStatus
    # for symmetric keys only, GetKeyPolicy, ListGrants, ListResourceTags).
    assert per_key_calls <= 5

    rules = discover_rules()
    policy = load_policy(REPO / "samples" / "cek-policy.yaml")
    findings = list(evaluate_all(rules, Context.build(inventory, policy)))
    assert not [f for f in findings if f.status is Status.ERROR]

    statuses: dict[str, set[Status]] = defaultdict(set)
    for finding in findings:
        if finding.provider == Provider.AWS.value:
            statuses[finding.rule_id].add(finding.status)
    aws_rules = sorted(r.meta.id for r in rules if "aws" in r.meta.providers)
    applicable = [rule for rule in aws_rules if rule not in INAPPLICABLE_TO_AWS]
    assert set(INAPPLICABLE_TO_AWS) <= set(aws_rules)
    missing = {
        rule: sorted(s.value for s in statuses[rule])
        for rule in applicable
        if not {Status.PASS, Status.FAIL} <= statuses[rule]
    }
    assert not missing, f"rules without both a passing and a failing AWS finding: {missing}"
    for rule in INAPPLICABLE_TO_AWS:
        # Should the normaliser start feeding such a rule, the demo must then cover it too.
        assert not statuses[rule] or {Status.PASS, Status.FAIL} <= statuses[rule], rule


def test_demo_ai_workloads_carry_the_intended_keys_tenants_and_principals(aws: None) -> None:
    estate = build_demo_estate()
    raw = AwsCollector(AwsOptions(regions=estate.regions, org_role=estate.org_role), NullProgress()).collect()
    inventory = normalise(raw)
    home, other = estate.regions
    data = estate.accounts["data-prod"]
    keys = {k.name: k for k in inventory.keys if k.scope == data}
    acme, pipeline, notebooks = keys["ai-acme-byok"], keys["ml-pipeline"], keys["ai-notebooks"]
    resources = {r.name: r for r in inventory.resources}
    customer = Encryption.CUSTOMER_MANAGED

    expected = {
        # name: (native type, region, encryption, keys, tenant tag)
        "support-assistant": ("AWS::Bedrock::Agent", home, customer, (acme.uid,), "acme"),
        "support-docs": ("AWS::Bedrock::KnowledgeBase", home, customer, (acme.uid,), "acme"),
        "fraud-scoring": ("AWS::SageMaker::EndpointConfig", home, customer, (acme.uid,), "acme"),
        "research-acme": ("AWS::SageMaker::NotebookInstance", home, customer, (notebooks.uid,), "acme"),
        "research-globex": ("AWS::SageMaker::NotebookInstance", home, customer, (notebooks.uid,), "globex"),
        "churn-training-2026-11": ("AWS::SageMaker::TrainingJob", home, customer, (pipeline.uid,), None),
        "churn-features-2026-11": ("AWS::SageMaker::ProcessingJob", home, customer, (pipeline.uid,), None),
        "faq-assistant-tuned": ("AWS::Bedrock::CustomModel", other, Encryption.PROVIDER_MANAGED, (), "acme"),
    }
    assert set(resources) == set(expected)
    for name, (native_type, region, encryption, key_uids, tenant) in expected.items():
        found = resources[name]
        assert (found.native_type, found.location, found.scope) == (native_type, region, data), name
        assert (found.encryption, found.keys, found.tags.get("tenant")) == (encryption, key_uids, tenant), (
            name
        )
        assert found.ai_service in ("sagemaker", "bedrock") and not found.unreadable, name
    assert resources["fraud-scoring"].evidence == {"KmsKeyId": "alias/ai-acme-byok"}  # resolved alias

    # The passing key: imported material, AI principals and AI-only service limits.
    assert acme.origin is KeyOrigin.IMPORTED
    use = inventory.ai_key_use
    assert use[acme.uid].services == ("bedrock", "sagemaker")
    assert use[acme.uid].principals == ("bedrock.amazonaws.com",)
    assert inventory.principal_by_uid["bedrock.amazonaws.com"].ai_service == "bedrock"
    assert inventory.effective_access(acme)["bedrock.amazonaws.com"] & ADMIN_CAPABILITIES == frozenset()
    limits = {
        b.principal.rsplit("/", 1)[-1]: b.via_services for b in inventory.bindings_for(acme) if b.via_services
    }
    assert limits == {"bedrock-agents": ("bedrock",), "sagemaker-execution": ("sagemaker",)}
    # The failing keys: SageMaker's principal administers the pipeline key, which S3 may also use.
    assert inventory.principal_by_uid["sagemaker.amazonaws.com"].ai_service == "sagemaker"
    assert Capability.ADMINISTER_ACCESS in inventory.effective_access(pipeline)["sagemaker.amazonaws.com"]
    assert any(b.via_services == ("s3",) for b in inventory.bindings_for(pipeline))
    assert pipeline.rotation is not None and pipeline.rotation.period_days == 365
    assert notebooks.origin is KeyOrigin.GENERATED and use[notebooks.uid].principals == ()
    # Nothing of the AI collection went wrong (the one expected error is the unreachable account's).
    assert not [
        e for e in inventory.errors if e.api.split(":")[0] in ("sagemaker", "bedrock", "bedrock-agent")
    ]
