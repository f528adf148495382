"""The AWS collector and normaliser through moto: the real boto3 code path, no mocks of our own code."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from providers.aws.collect import AwsCollector, AwsOptions, RawKey
from providers.aws.normalise import normalise
from scanner.inventory import (
    BindingSource,
    Capability,
    ErrorClass,
    KeyAspect,
    KeyManager,
    KeyOrigin,
    KeyPurpose,
    KeyState,
    KeyType,
    PrincipalKind,
    ScopeAspect,
    ScopeLevel,
)
from tests.providers.aws.conftest import OTHER_REGION, REGION

ACCOUNT = "123456789012"  # moto's default account


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROOT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}  # fmt: skip
ADMINS = {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
          "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"},
          "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                     "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                     "kms:CancelKeyDeletion"], "Resource": "*"}  # fmt: skip
USERS = {"Sid": "Allow use of the key", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/App"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"}  # fmt: skip


def _scan(**options):
    estate = AwsCollector(AwsOptions(regions=(REGION,), **options), _progress()).collect()
    return estate, normalise(estate)


def _progress():
    from scanner.progress import NullProgress

    return NullProgress()


def test_keys_are_normalised_with_their_policy_grants_and_rotation(kms) -> None:
    key = kms.create_key(
        Description="payments", Tags=[{"TagKey": "data_classification", "TagValue": "restricted"}]
    )
    key_id = key["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_policy(ADMINS, USERS))
    kms.enable_key_rotation(KeyId=key_id)
    kms.create_alias(AliasName="alias/payments", TargetKeyId=key_id)
    kms.create_grant(
        KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:role/Batch", Operations=["Decrypt"]
    )
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]

    estate, inventory = _scan()
    by_name = {k.name: k for k in inventory.keys}
    payments = by_name["payments"]
    assert payments.uid == key["KeyMetadata"]["Arn"]
    assert (payments.manager, payments.purpose, payments.key_type) == (
        KeyManager.CUSTOMER,
        KeyPurpose.ENCRYPT,
        KeyType.SYMMETRIC,
    )
    assert payments.origin is KeyOrigin.GENERATED and payments.state is KeyState.ENABLED
    assert payments.rotation is not None and payments.rotation.enabled is True
    assert payments.tags == {"data_classification": "restricted"}
    assert payments.aliases == ("alias/payments",)
    assert not payments.inherits_access  # the policy does not allow the account root
    assert payments.unreadable == frozenset()
    access = inventory.effective_access(payments)
    assert Capability.ADMINISTER_ACCESS in access[f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"]
    assert Capability.DECRYPT not in access[f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"]
    assert access[f"arn:aws:iam::{ACCOUNT}:role/App"] >= {Capability.ENCRYPT, Capability.DECRYPT}
    assert access[f"arn:aws:iam::{ACCOUNT}:role/Batch"] == frozenset({Capability.DECRYPT})
    sources = {b.source for b in inventory.bindings_for(payments)}
    assert sources == {BindingSource.KEY_POLICY, BindingSource.GRANT}

    ecc = next(k for k in inventory.keys if k.uid.endswith(signing))
    assert (ecc.key_type, ecc.curve, ecc.purpose) == (KeyType.EC, "P-256", KeyPurpose.SIGN)
    assert ecc.rotation is None and ecc.auto_rotation_supported is False
    assert estate.api_calls["kms:GetKeyRotationStatus"] == 1  # asked for the symmetric key only


def test_root_delegation_brings_in_iam_identity_policies(kms) -> None:
    iam = boto3.client("iam")
    iam.create_role(
        RoleName="Ops", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )
    iam.put_role_policy(
        RoleName="Ops",
        PolicyName="kms-everything",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
    )
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_policy(ROOT))

    _, inventory = _scan()
    [key] = inventory.keys
    assert key.inherits_access
    access = inventory.effective_access(key)
    ops = f"arn:aws:iam::{ACCOUNT}:role/Ops"
    assert access[ops] >= {Capability.ADMINISTER_ACCESS, Capability.DECRYPT}
    [scope_binding] = [b for b in inventory.bindings if b.principal == ops]
    assert (scope_binding.level, scope_binding.target) == (ScopeLevel.SCOPE, ACCOUNT)
    assert inventory.principal(ops).kind is PrincipalKind.ROLE


def test_aws_managed_keys_are_described_only(kms) -> None:
    # moto has no AWS-managed keys; feed one through the real collector with botocore's Stubber.
    collector = AwsCollector(AwsOptions(regions=(REGION,)), _progress())
    client = boto3.client("kms", region_name=REGION)
    stub = Stubber(client)
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-0000-0000-0000-000000000000"
    stub.add_response("describe_key", {"KeyMetadata": {"KeyId": "1234abcd-0000-0000-0000-000000000000", "Arn": arn,
                                                       "KeyManager": "AWS", "KeySpec": "SYMMETRIC_DEFAULT"}})  # fmt: skip

    class _Account:
        account_id = ACCOUNT

        def client(self, service, region):
            return client

    raw = RawKey(key_id="1234abcd-0000-0000-0000-000000000000", arn=arn)
    with stub:
        collector._collect_key(_Account(), REGION, raw, _progress().task("x", 1))
    stub.assert_no_pending_responses()
    assert raw.policy is None and raw.grants is None and raw.failed == set()


def test_pagination_of_keys_is_followed(aws) -> None:
    collector = AwsCollector(AwsOptions(regions=(REGION,)), _progress())
    client = boto3.client("kms", region_name=REGION)
    stub = Stubber(client)
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
    stub.add_response(
        "list_keys", {"Keys": [{"KeyId": "a", "KeyArn": arn + "a"}], "Truncated": True, "NextMarker": "m"}
    )
    stub.add_response("list_keys", {"Keys": [{"KeyId": "b", "KeyArn": arn + "b"}], "Truncated": False},
                      expected_params={"Marker": "m"})  # fmt: skip
    with stub:
        keys = collector.paginate(ACCOUNT, REGION, client, "list_keys", "Keys")
    assert [k["KeyId"] for k in keys] == ["a", "b"]


def test_access_denied_on_one_api_makes_that_key_unknown_not_pass(kms) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_policy(ROOT))
    collector = AwsCollector(AwsOptions(regions=(REGION,)), _progress())

    from botocore.exceptions import ClientError

    def deny(**_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "GetKeyPolicy"
        )

    original = collector._account

    def account_with_denied_policy(account_id, session):
        account = original(account_id, session)
        kms_client = account.client("kms", REGION)
        kms_client.meta.events.register("before-call.kms.GetKeyPolicy", deny)
        return account

    collector._account = account_with_denied_policy  # type: ignore[method-assign]
    estate = collector.collect()
    inventory = normalise(estate)
    [key] = inventory.keys
    assert KeyAspect.ACCESS in key.unreadable
    [error] = inventory.errors
    assert (error.api, error.error_class, error.location, error.resource) == (
        "kms:GetKeyPolicy", ErrorClass.ACCESS_DENIED, REGION, key.uid)  # fmt: skip


def test_cloudtrail_coverage_per_region(aws, kms) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="trail-logs", CreateBucketConfiguration={"LocationConstraint": REGION})
    trail = boto3.client("cloudtrail", region_name=REGION)
    trail.create_trail(Name="org", S3BucketName="trail-logs", IsMultiRegionTrail=False)
    trail.start_logging(Name="org")
    trail.put_event_selectors(
        TrailName="org",
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True,
                         "ExcludeManagementEventSources": ["kms.amazonaws.com"]}],
    )  # fmt: skip
    estate = AwsCollector(AwsOptions(regions=(REGION, OTHER_REGION)), _progress()).collect()
    coverage = {c.location: c for c in normalise(estate).audit_logging}
    assert (coverage[REGION].admin_events, coverage[REGION].usage_events) == (False, False)  # KMS excluded
    assert (coverage[OTHER_REGION].admin_events, coverage[OTHER_REGION].usage_events) == (False, False)
    trail.put_event_selectors(
        TrailName="org", EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    )
    coverage = {
        c.location: c
        for c in normalise(AwsCollector(AwsOptions(regions=(REGION,)), _progress()).collect()).audit_logging
    }
    assert (coverage[REGION].admin_events, coverage[REGION].usage_events) == (True, False)


def test_org_scan_assumes_role_in_member_accounts_and_records_unreachable_ones(aws) -> None:
    org = boto3.client("organizations", region_name=REGION)
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="workloads", Email="w@example.com")["CreateAccountStatus"][
        "AccountId"
    ]
    _, inventory = _scan(org_role="OrganizationAccountAccessRole")
    assert {s.uid for s in inventory.scopes} == {ACCOUNT, member}
    member_scope = inventory.scope_by_uid[member]
    assert member_scope.name == "workloads"
    assert member_scope.parents and member_scope.parents[-1].uid.startswith("o-")
    _, inventory = _scan(org_role="OrganizationAccountAccessRole", accounts=(member,))
    assert [s.uid for s in inventory.scopes] == [member]


def test_failing_region_does_not_stop_the_others(kms) -> None:
    kms.create_key()
    _, inventory = _scan_regions((REGION, "xx-nowhere-1"))
    assert len(inventory.keys) == 1
    failed = {e.api for e in inventory.errors if e.location == "xx-nowhere-1"}
    assert "kms:ListKeys" in failed
    assert not [e for e in inventory.errors if e.location == REGION]
    scope = inventory.scope_by_uid[ACCOUNT]
    assert ScopeAspect.KEYS in scope.unreadable


def _scan_regions(regions):
    estate = AwsCollector(AwsOptions(regions=regions), _progress()).collect()
    return estate, normalise(estate)


@pytest.mark.parametrize(
    "bad",
    ["{not json", json.dumps({"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "kms:*"}]})],
)
def test_malformed_key_policy_is_recorded_and_the_key_is_unknown(kms, bad) -> None:
    # moto stores what it is given; a malformed policy stands for a truncated or corrupted response.
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    from moto.kms.models import kms_backends

    kms_backends[ACCOUNT][REGION].keys[key_id].policy = bad
    _, inventory = _scan()
    [key] = inventory.keys
    assert KeyAspect.ACCESS in key.unreadable
    [error] = [e for e in inventory.errors if e.error_class is ErrorClass.MALFORMED_RESPONSE]
    assert (error.api, error.resource) == ("kms:GetKeyPolicy", key.uid)
    assert "could not be understood" in error.message
    assert not [b for b in inventory.bindings if b.target == key.uid and b.source is BindingSource.KEY_POLICY]


def test_own_account_root_is_delegation_not_a_principal(kms) -> None:
    # moto's default key policy is AWS's: the account root holds kms:*.
    kms.create_key()
    _, inventory = _scan()
    [key] = inventory.keys
    assert key.inherits_access
    assert f"arn:aws:iam::{ACCOUNT}:root" not in inventory.effective_access(key)
    assert key.multi_region is False


def test_other_accounts_root_is_an_external_principal(kms) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    partner = {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
               "Action": ["kms:Decrypt"], "Resource": "*"}  # fmt: skip
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_policy(ROOT, partner))
    _, inventory = _scan()
    [key] = inventory.keys
    assert inventory.effective_access(key)["arn:aws:iam::999988887777:root"] == frozenset(
        {Capability.DECRYPT}
    )
    partner_principal = inventory.principal("arn:aws:iam::999988887777:root")
    assert partner_principal.external and partner_principal.kind is PrincipalKind.ACCOUNT


def test_root_statement_with_a_condition_still_delegates_to_iam(kms) -> None:
    iam = boto3.client("iam")
    iam.create_role(
        RoleName="DevOps", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )
    iam.put_role_policy(
        RoleName="DevOps",
        PolicyName="kms",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
    )
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    conditional_root = {**ROOT, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_policy(conditional_root))
    _, inventory = _scan()
    [key] = inventory.keys
    devops = f"arn:aws:iam::{ACCOUNT}:role/DevOps"
    assert inventory.effective_access(key)[devops] >= {Capability.ADMINISTER_ACCESS, Capability.DECRYPT}
    [binding] = [b for b in inventory.bindings_for(key) if b.principal == devops]
    assert binding.conditional and binding.level is ScopeLevel.KEY


def test_requested_account_outside_the_organization_is_a_coverage_gap_not_silence(aws) -> None:
    boto3.client("organizations", region_name=REGION).create_organization(FeatureSet="ALL")
    _, inventory = _scan(org_role="OrganizationAccountAccessRole", accounts=("999999999999",))
    assert inventory.scopes == ()
    [error] = inventory.errors
    assert (error.scope, error.api) == ("999999999999", "organizations:ListAccounts")
    assert "not a member of the organization" in error.message


def test_member_credentials_renew_themselves(aws) -> None:
    org = boto3.client("organizations", region_name=REGION)
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="w", Email="w@example.com")["CreateAccountStatus"]["AccountId"]
    collector = AwsCollector(
        AwsOptions(regions=(REGION,), org_role="OrganizationAccountAccessRole"), _progress()
    )
    collector._caller_account(boto3.Session(), REGION)
    session = collector._assume(boto3.Session(), REGION, member)
    credentials = session.get_credentials()
    assert credentials.method == "assume-role" and credentials.refresh_needed() is False
    assert hasattr(credentials, "_refresh_using")  # botocore renews it before expiry


def test_identity_policy_keyaudit_cannot_read_makes_account_access_unknown_but_keeps_the_rest(kms) -> None:
    iam = boto3.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for name, statement in (("Ops", {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
                            ("Odd", {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Principal": "*"})):  # fmt: skip
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=_policy(statement))
    kms.put_key_policy(
        KeyId=kms.create_key()["KeyMetadata"]["KeyId"], PolicyName="default", Policy=_policy(ROOT)
    )
    _, inventory = _scan()
    [key] = inventory.keys
    assert f"arn:aws:iam::{ACCOUNT}:role/Ops" in inventory.effective_access(key)
    assert ScopeAspect.ACCESS in inventory.scope_by_uid[ACCOUNT].unreadable
    assert any(e.api == "iam:GetAccountAuthorizationDetails" and e.error_class is ErrorClass.MALFORMED_RESPONSE
               for e in inventory.errors)  # fmt: skip


def test_organization_trail_settings_come_from_the_owning_account() -> None:
    from providers.aws.collect import RawAccount, RawEstate, RawRegion, RawTrail
    from providers.aws.normalise import normalise as to_inventory

    arn = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org"
    trail = {
        "TrailARN": arn,
        "IsOrganizationTrail": True,
        "IsMultiRegionTrail": True,
        "HomeRegion": "us-east-1",
    }
    settings = (
        {"IsLogging": True},
        {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]},
    )
    owner = RawAccount(account_id="111111111111", regions=[RawRegion(region=REGION, keys=[])], iam={},
                       trails=[RawTrail(trail=trail, status=settings[0], event_selectors=settings[1])])  # fmt: skip
    member = RawAccount(account_id="222222222222", regions=[RawRegion(region=REGION, keys=[])], iam={},
                        trails=[RawTrail(trail=dict(trail), owner="111111111111")])  # fmt: skip
    AwsCollector(AwsOptions(), _progress())._resolve_organization_trails([owner, member], {})
    inventory = to_inventory(RawEstate(accounts=[owner, member], errors=[]))
    coverage = {c.scope: (c.admin_events, c.usage_events) for c in inventory.audit_logging}
    assert coverage == {"111111111111": (True, True), "222222222222": (True, True)}
    assert inventory.scope_by_uid["222222222222"].unreadable == frozenset()


@pytest.mark.parametrize(
    ("status", "logged"),
    [
        ({"IsLogging": True}, (True, True)),
        ({"IsLogging": False}, (False, False)),
        ({"IsLogging": True, "LatestDeliveryError": "NoSuchBucket"}, (False, False)),
        (
            {
                "IsLogging": True,
                "LatestDeliveryError": "NoSuchBucket",
                "LatestDeliveryAttemptTime": "2026-11-20T10:00:00Z",
                "LatestDeliveryAttemptSucceeded": "2026-11-20T10:00:00Z",
            },
            (True, True),
        ),
    ],
)
def test_trail_that_cannot_deliver_does_not_count_as_logging(status, logged) -> None:
    from providers.aws.collect import RawTrail
    from providers.aws.normalise import trail_logs_kms

    selectors = {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}
    assert trail_logs_kms(RawTrail(trail={}, status=status, event_selectors=selectors)) == logged
