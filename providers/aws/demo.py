"""A simulated AWS Organization for ``keyaudit demo`` and tests: seeded into in-process moto through boto3.

``build_demo_estate`` must run inside an active ``moto.mock_aws()`` context, after
``providers.aws.simulator.patch_moto()`` and ``simulator.reset()``. It creates, with the same API calls an
operator would make (Organizations, STS, IAM, KMS, CloudHSM, S3, CloudTrail), the estate of "Example Corp":

* the management account (moto's default account) and three member accounts: ``payments-prod``
  (111122223333) and ``data-prod`` (444455556666), whose ids are the ones ``samples/cek-policy.yaml``
  declares key administrators and users for, in a ``Production`` OU; and ``legacy-sandbox``, invited
  into the organization in a ``Sandbox`` OU without the organization's access role, so a scan cannot
  assume a role there (a coverage gap);
* in each scanned account and the two regions, customer keys with a realistic mix of key policies (the
  console's default shape with root delegation, administrator-only and user-only statements, an
  administrator who also decrypts, a single administrator, ``*`` without and with an
  ``aws:PrincipalOrgID`` condition, a partner account), IAM roles with identity policies (kms:Decrypt
  and kms:* on every key), grants, rotation on and off with 90 and 365 day periods, RSA/ECC/HMAC keys,
  keys pending deletion, multi-region keys with and without the ``dr_replica`` tag, keys in a CloudHSM
  key store (healthy in one account, a one-HSM cluster in the other) and in a disconnected external key
  store, imported key material;
* CloudTrail: a multi-region trail logging everything, a trail that excludes KMS events, a write-only
  trail and a region without any trail.
* AI workloads in data-prod: SageMaker notebook instances, an endpoint configuration, a training and a
  processing job, a Bedrock agent, a knowledge base with a data source and a custom model; a BYOK key that
  meets the ``ai_workloads`` policy, a key SageMaker's service principal administers and S3 may also use,
  a key shared by two tenants' notebooks, and one model left on AWS's own key.

Every rule of the catalogue that can judge AWS data finds at least one resource that passes and one that
fails when the estate is judged against ``samples/cek-policy.yaml``; comments name the rules a resource
is there for. Where moto lacks a feature, ``providers.aws.simulator`` fills the gap (each use says why).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session

from providers.aws import simulator

ORG_ROLE = "OrganizationAccountAccessRole"
DEFAULT_REGIONS = ("eu-west-1", "us-east-1")

# Member account ids: the ones samples/cek-policy.yaml names in roles.key_administrators / key_users.
PAYMENTS_ACCOUNT = "111122223333"
DATA_ACCOUNT = "444455556666"
SANDBOX_ACCOUNT = "222233334444"
PARTNER_ACCOUNT = "777788889999"  # Example Partner Ltd: outside the organization

DAY = 86400.0

# ------------------------------------------------------------------------------------ policy documents
# Actions of the statements the AWS console writes into a new key's default policy.
ADMIN_ACTIONS = [
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
]  # fmt: skip
ENCRYPT_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
RSA_ENCRYPT_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:GetPublicKey", "kms:DescribeKey"]
SIGN_ACTIONS = ["kms:Sign", "kms:Verify", "kms:GetPublicKey", "kms:DescribeKey"]
MAC_ACTIONS = ["kms:GenerateMac", "kms:VerifyMac", "kms:DescribeKey"]
AGREEMENT_ACTIONS = ["kms:DeriveSharedSecret", "kms:GetPublicKey", "kms:DescribeKey"]
Statement = dict[str, Any]


def _document(*statements: Statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Id": "key-consolepolicy-3", "Statement": list(statements)})


def root_statement(account: str) -> Statement:
    """The console default: the account may govern the key through IAM policies (and holds kms:*)."""
    return {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def admin_statement(*principals: str) -> Statement:
    return {
        "Sid": "Allow access for Key Administrators",
        "Effect": "Allow",
        "Principal": {"AWS": list(principals)},
        "Action": ADMIN_ACTIONS,
        "Resource": "*",
    }


def use_statement(
    *principals: str, actions: Sequence[str] = ENCRYPT_ACTIONS, sid: str = "Allow use of the key"
) -> Statement:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": list(principals)},
        "Action": list(actions),
        "Resource": "*",
    }


def attachment_statement(*principals: str) -> Statement:
    """The console's grant statement: only grants integrated AWS services create for the caller."""
    return {
        "Sid": "Allow attachment of persistent resources",
        "Effect": "Allow",
        "Principal": {"AWS": list(principals)},
        "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
        "Resource": "*",
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    }


def anyone_statement(
    sid: str, actions: Sequence[str], condition: Mapping[str, Any] | None = None
) -> Statement:
    """``"Principal": {"AWS": "*"}``: everyone, unless ``condition`` narrows it."""
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": list(actions),
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def service_statement(
    sid: str, service: str, actions: Sequence[str], condition: Mapping[str, Any]
) -> Statement:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": list(actions),
        "Resource": "*",
        "Condition": dict(condition),
    }


def cloudtrail_statement(account: str, trail_arn: str) -> Statement:
    """CloudTrail may encrypt the log files of one trail (the console's CloudTrail key policy)."""
    return service_statement(
        "Allow CloudTrail to encrypt logs",
        "cloudtrail.amazonaws.com",
        ["kms:GenerateDataKey*"],
        {
            "StringEquals": {"aws:SourceArn": trail_arn},
            "StringLike": {
                "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"
            },
        },
    )


def _trust(principal: Mapping[str, str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": dict(principal), "Action": "sts:AssumeRole"}],
        }
    )


def _identity_policy(*statements: Statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"TagKey": name, "TagValue": value} for name, value in tags.items()]


# ---------------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class DemoEstate:
    """What a caller needs to scan the estate: ``AwsCollector(AwsOptions(regions=..., org_role=...))``."""

    org_role: str
    regions: tuple[str, ...]
    organization_id: str
    management_account: str
    accounts: dict[str, str] = field(default_factory=dict)  # account name -> id, management included
    unreachable_accounts: tuple[str, ...] = ()  # members whose org_role cannot be assumed

    @property
    def account_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.accounts.values()))


@dataclass(frozen=True)
class _Key:
    key_id: str
    arn: str
    region: str


# --------------------------------------------------------------------------------------------- builder
class _Account:
    """One account's boto3 session, with helpers that make the calls an operator would make."""

    def __init__(
        self, session: boto3.Session, account_id: str, home: str, loader: botocore.loaders.Loader
    ) -> None:
        self.session = session
        self.id = account_id
        self.home = home
        self.loader = loader  # shared by every session of the build (see ``_session``)
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        where = region or self.home
        found = self._clients.get((service, where))
        if found is None:
            found = self._clients[(service, where)] = self.session.client(service, region_name=where)
        return found

    def arn(self, path: str) -> str:
        return f"arn:aws:iam::{self.id}:{path}"

    # ---------------------------------------------------------------- IAM
    def role(
        self,
        name: str,
        *,
        service: str | None = None,
        inline: Mapping[str, str] | None = None,
        managed: Mapping[str, str] | None = None,
    ) -> str:
        """A role assumed by people of the account (or by ``service``), with inline and customer managed
        policies (name -> document)."""
        iam = self.client("iam")
        trust = {"Service": service} if service else {"AWS": self.arn("root")}
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(trust))
        for policy_name, document in (inline or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=document)
        for policy_name, document in (managed or {}).items():
            arn = iam.create_policy(PolicyName=policy_name, PolicyDocument=document)["Policy"]["Arn"]
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return self.arn(f"role/{name}")

    def roles(self, *names: str, service: str | None = None) -> dict[str, str]:
        return {name: self.role(name, service=service) for name in names}

    def user(self, name: str) -> str:
        self.client("iam").create_user(UserName=name)
        return self.arn(f"user/{name}")

    # ---------------------------------------------------------------- KMS
    def key(
        self,
        region: str,
        alias: str,
        statements: Sequence[Statement] | None,
        *,
        description: str,
        spec: str = "SYMMETRIC_DEFAULT",
        usage: str = "ENCRYPT_DECRYPT",
        tags: Mapping[str, str] | None = None,
        rotation: bool | int = False,
        origin: str | None = None,
        store: str | None = None,
        xks_key: str | None = None,
        multi_region: bool = False,
    ) -> _Key:
        """Create a key with its policy (None: the default policy KMS gives a key created through the API),
        tags, alias and rotation (True: AWS's default period, an int: that many days)."""
        kms = self.client("kms", region)
        params: dict[str, Any] = {
            "Description": description,
            "KeySpec": spec,
            "KeyUsage": usage,
            "Tags": _tags(tags or {}),
            "MultiRegion": multi_region,
        }
        if statements is not None:
            params["Policy"] = _document(*statements)
            if root_statement(self.id) not in statements:
                # The policy does not let the creating role manage the key: the safety check must be waived,
                # as infrastructure pipelines that hand keys to their administrators do.
                params["BypassPolicyLockoutSafetyCheck"] = True
        if origin:
            params["Origin"] = origin
        if store:
            params["CustomKeyStoreId"] = store
        if xks_key:
            params["XksKeyId"] = xks_key
        metadata = kms.create_key(**params)["KeyMetadata"]
        key = _Key(metadata["KeyId"], metadata["Arn"], region)
        kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=key.key_id)
        if rotation is True:
            kms.enable_key_rotation(KeyId=key.key_id)
        elif rotation:
            kms.enable_key_rotation(KeyId=key.key_id, RotationPeriodInDays=rotation)
        return key

    def replicate(
        self, key: _Key, region: str, alias: str, *, tags: Mapping[str, str], rotation_days: int | None
    ) -> _Key:
        """A replica of multi-region ``key`` in ``region`` with the primary's policy, its tags and alias."""
        policy = self.client("kms", key.region).get_key_policy(KeyId=key.key_id, PolicyName="default")
        answer = self.client("kms", key.region).replicate_key(
            KeyId=key.key_id, ReplicaRegion=region, Policy=policy["Policy"], Tags=_tags(tags)
        )
        replica = _Key(key.key_id, answer["ReplicaKeyMetadata"]["Arn"], region)
        kms = self.client("kms", region)
        if tags:
            kms.tag_resource(KeyId=replica.key_id, Tags=_tags(tags))  # moto drops ReplicateKey's Tags
        # moto's replica is a shallow copy of the primary that shares its aliases: one already answers.
        with contextlib.suppress(kms.exceptions.AlreadyExistsException):
            kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=replica.key_id)
        if rotation_days:
            # Replicas share the primary's rotation (EnableKeyRotation on a replica is refused by AWS);
            # moto copies the flag at replication but our simulator keeps periods per region.
            simulator.set_rotation_period(self.id, region, replica.key_id, rotation_days)
        return replica

    def grant(self, key: _Key, name: str, grantee: str, operations: Sequence[str]) -> None:
        self.client("kms", key.region).create_grant(
            KeyId=key.key_id, Name=name, GranteePrincipal=grantee, Operations=list(operations)
        )

    def schedule_deletion(self, key: _Key, days: int, *, has_replicas: bool = False) -> None:
        self.client("kms", key.region).schedule_key_deletion(KeyId=key.key_id, PendingWindowInDays=days)
        if has_replicas:
            # A multi-region primary with replicas waits for them: AWS reports PendingReplicaDeletion with
            # the window in PendingDeletionWindowInDays and no DeletionDate yet. moto has no such state.
            simulator.set_key_metadata(
                self.id, key.region, key.key_id,
                KeyState="PendingReplicaDeletion", PendingDeletionWindowInDays=days, DeletionDate=None,
            )  # fmt: skip

    # ---------------------------------------------------------------- CloudHSM and custom key stores
    def cloudhsm_key_store(self, region: str, store_id: str, name: str, *, zones: Sequence[str]) -> str:
        """A CloudHSM cluster with one HSM per zone in ``zones`` behind a CONNECTED key store; returns the
        cluster id."""
        # Subnets of the cluster's VPC, one per zone (moto's CloudHSM does not look them up in EC2, whose
        # API model alone would cost a second to load).
        subnets = [f"subnet-0{self.id[-4:]}{zone}{i:011d}" for i, zone in enumerate(("a", "b"))]
        hsm = self.client("cloudhsmv2", region)
        cluster = str(hsm.create_cluster(HsmType="hsm2m.medium", SubnetIds=subnets)["Cluster"]["ClusterId"])
        for zone in zones:
            hsm.create_hsm(ClusterId=cluster, AvailabilityZone=f"{region}{zone}")  # simulator's CreateHsm
        # moto has no custom key stores: the simulator answers DescribeCustomKeyStores from this record.
        simulator.add_custom_key_store(
            self.id,
            region,
            {
                "CustomKeyStoreId": store_id,
                "CustomKeyStoreName": name,
                "CustomKeyStoreType": "AWS_CLOUDHSM",
                "CloudHsmClusterId": cluster,
                "ConnectionState": "CONNECTED",
                "CreationDate": time.time() - 400 * DAY,
            },
        )
        return cluster

    def external_key_store(self, region: str, store_id: str, name: str, proxy: str) -> None:
        """An external key store whose proxy stopped answering: DISCONNECTED."""
        simulator.add_custom_key_store(
            self.id,
            region,
            {
                "CustomKeyStoreId": store_id,
                "CustomKeyStoreName": name,
                "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
                "ConnectionState": "DISCONNECTED",
                "ConnectionErrorCode": "XKS_PROXY_TIMED_OUT",
                "CreationDate": time.time() - 200 * DAY,
                "XksProxyConfiguration": {
                    "Connectivity": "PUBLIC_ENDPOINT",
                    "AccessKeyId": "XKSPROXYACCESSKEY01",
                    "UriEndpoint": proxy,
                    "UriPath": "/example-prefix/kms/xks/v1",
                },
            },
        )

    def key_in_store(
        self,
        region: str,
        alias: str,
        statements: Sequence[Statement],
        *,
        store: str,
        description: str,
        tags: Mapping[str, str],
        cluster: str | None = None,
        xks_key: str | None = None,
    ) -> _Key:
        """A symmetric key whose material lives in a custom key store: CloudHSM (``cluster``) or external
        (``xks_key``, the key's id in the external key manager)."""
        origin = "AWS_CLOUDHSM" if cluster else "EXTERNAL_KEY_STORE"
        key = self.key(
            region, alias, statements, description=description, tags=tags, origin=origin, store=store,
            xks_key=xks_key,
        )  # fmt: skip
        # moto accepts CustomKeyStoreId and XksKeyId but DescribeKey reports neither.
        fields: dict[str, Any] = {"CustomKeyStoreId": store}
        if cluster:
            fields["CloudHsmClusterId"] = cluster
        else:
            # The keys of a disconnected external key store cannot be used: KMS reports them Unavailable.
            fields.update(XksKeyConfiguration={"Id": xks_key}, KeyState="Unavailable")
        simulator.set_key_metadata(self.id, region, key.key_id, **fields)
        return key

    # ---------------------------------------------------------------- CloudTrail
    def trail(
        self,
        region: str,
        name: str,
        *,
        multi_region: bool,
        selectors: list[dict[str, Any]] | None = None,
        kms_key: str | None = None,
    ) -> str:
        bucket = f"aws-cloudtrail-logs-{self.id}-{name}"
        s3 = self.client("s3", region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        cloudtrail = self.client("cloudtrail", region)
        params: dict[str, Any] = {"Name": name, "S3BucketName": bucket, "IsMultiRegionTrail": multi_region}
        if kms_key:
            params["KmsKeyId"] = kms_key
        arn = cloudtrail.create_trail(**params)["TrailARN"]
        if selectors is not None:
            cloudtrail.put_event_selectors(TrailName=name, EventSelectors=selectors)
        cloudtrail.start_logging(Name=name)
        return str(arn)


# ----------------------------------------------------------------------------------------- the estate
def build_demo_estate(*, regions: Sequence[str] = DEFAULT_REGIONS) -> DemoEstate:
    """Seed the demo organization into the active moto context; see the module docstring.

    ``regions``: at least two distinct regions; keys live in the first two (multi-region keys replicate
    from the first to the second), further regions are scanned but hold no keys.
    """
    wanted = tuple(dict.fromkeys(regions))
    if len(wanted) < 2:
        raise ValueError("the demo estate needs at least two distinct regions (it holds multi-region keys)")
    home, other = wanted[0], wanted[1]
    with simulator.fast_key_generation():
        loader = botocore.loaders.create_loader()
        session = _session(home, loader)
        caller = str(session.client("sts").get_caller_identity()["Account"])
        management = _Account(session, caller, home, loader)
        org_id, members = _organization(management)
        _management_account(management, home, other)
        _payments_account(_assume(management, members["payments-prod"]), org_id, home, other)
        _data_account(_assume(management, members["data-prod"]), home, other)
        # legacy-sandbox joined by invitation and never got the organization's access role (moto creates
        # it with every account, and has no invitations): assuming it is refused, as STS refuses it.
        sandbox = members["legacy-sandbox"]
        simulator.deny_assume_role(f"arn:aws:iam::{sandbox}:role/{ORG_ROLE}")
    return DemoEstate(
        org_role=ORG_ROLE,
        regions=wanted,
        organization_id=org_id,
        management_account=management.id,
        accounts={"management": management.id, **members},
        unreachable_accounts=(sandbox,),
    )


def _organization(management: _Account) -> tuple[str, dict[str, str]]:
    """The organization, its OUs and member accounts (name -> id)."""
    org = management.client("organizations")
    org_id = str(org.create_organization(FeatureSet="ALL")["Organization"]["Id"])
    root = org.list_roots()["Roots"][0]["Id"]
    production = org.create_organizational_unit(ParentId=root, Name="Production")["OrganizationalUnit"]["Id"]
    sandbox = org.create_organizational_unit(ParentId=root, Name="Sandbox")["OrganizationalUnit"]["Id"]
    members: dict[str, str] = {}
    # The member accounts carry the ids samples/cek-policy.yaml names; moto would number them at random.
    with simulator.organization_account_ids(PAYMENTS_ACCOUNT, DATA_ACCOUNT, SANDBOX_ACCOUNT):
        for name, parent in (
            ("payments-prod", production),
            ("data-prod", production),
            ("legacy-sandbox", sandbox),
        ):
            status = org.create_account(AccountName=name, Email=f"aws+{name}@example.com")[
                "CreateAccountStatus"
            ]
            members[name] = str(status["AccountId"])
            org.move_account(AccountId=members[name], SourceParentId=root, DestinationParentId=parent)
    return org_id, members


def _session(region: str, loader: botocore.loaders.Loader, **credentials: str) -> boto3.Session:
    """A boto3 session sharing botocore's API-model ``loader`` with the other sessions of the build, so
    each service model is read from disk once (reading them per account was half the build time)."""
    core = botocore.session.get_session()
    core.register_component("data_loader", loader)
    session = boto3.Session(botocore_session=core, region_name=region, **credentials)
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))  # each Session adds boto3's path
    return session


def _assume(management: _Account, account_id: str) -> _Account:
    """A session in a member account through the organization's access role (moto keeps per-account state)."""
    credentials = management.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ORG_ROLE}", RoleSessionName="keyaudit-demo-setup"
    )["Credentials"]
    session = _session(
        management.home,
        management.loader,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return _Account(session, account_id, management.home, management.loader)


def _classification(level: str, owner: str, **more: str) -> dict[str, str]:
    return {"data_classification": level, "owner": owner, **more}


def _management_account(m: _Account, home: str, other: str) -> None:
    """The management account: few keys, all on the console default (root delegation), and an automation
    role with kms:* (no_wildcard_key_admin, no_decrypt_on_all_keys FAIL). Its trail covers only ``other``:
    ``home`` has no trail at all (key_usage_audit_logging_enabled FAIL)."""
    breakglass = m.role("KeyAdminBreakGlass")
    m.role(
        "PlatformAutomation",
        service="codebuild.amazonaws.com",
        inline={"kms-full-access": _identity_policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})},
    )
    internal = _classification("internal", "platform")
    trail_arn = f"arn:aws:cloudtrail:{other}:{m.id}:trail/management-events"
    trail_key = m.key(
        other, "org-trail-logs",
        [root_statement(m.id), admin_statement(breakglass), cloudtrail_statement(m.id, trail_arn)],
        description="Encrypts the management account's CloudTrail log files", tags=internal, rotation=90,
    )  # fmt: skip
    m.trail(other, "management-events", multi_region=False, kms_key=trail_key.arn)
    # Created through the API without a policy: KMS's default policy (root only); rotation on AWS's
    # default period of 365 days (key_rotation_period_within_policy FAIL with max_days 90).
    m.key(other, "terraform-state", None, description="Terraform remote state", tags=internal, rotation=True)
    m.key(
        home, "security-tooling", [root_statement(m.id), admin_statement(breakglass)],
        description="Security tooling secrets", tags=internal,
    )  # fmt: skip
    m.key(
        home, "guardduty-findings",
        [
            root_statement(m.id),
            admin_statement(breakglass),
            service_statement(
                "Allow GuardDuty to encrypt findings", "guardduty.amazonaws.com", ["kms:GenerateDataKey"],
                {"StringEquals": {"aws:SourceAccount": m.id}},
            ),
        ],
        description="GuardDuty findings export", tags=internal, rotation=90,
    )  # fmt: skip


def _payments_account(p: _Account, org_id: str, home: str, other: str) -> None:
    """payments-prod: the declared KeyAdmin/KeyAdminBreakGlass pair administers most keys, app-* roles use
    them; a CloudHSM key store (healthy) and an external key store (disconnected); a multi-region trail."""
    key_admin = p.role(
        "KeyAdmin",
        managed={
            "kms-key-administration": _identity_policy(
                {"Effect": "Allow", "Action": ADMIN_ACTIONS, "Resource": f"arn:aws:kms:*:{p.id}:key/*"}
            )
        },
    )
    breakglass = p.role("KeyAdminBreakGlass")
    p.role(
        "SecurityAudit",
        managed={
            "kms-read-only": _identity_policy(
                {
                    "Effect": "Allow",
                    "Action": [
                        "kms:DescribeKey",
                        "kms:GetKeyPolicy",
                        "kms:GetKeyRotationStatus",
                        "kms:List*",
                    ],
                    "Resource": "*",
                }
            )
        },
    )
    app = p.roles(
        "app-payments", "app-payments-worker", "app-crm", "app-docsign", "app-auth", "app-cde-tokenizer",
        "app-sessions", "app-settlement", "app-webhooks", "app-reporting", "app-legacy-exports",
        service="ecs-tasks.amazonaws.com",
    )  # fmt: skip
    devops = p.user("devops-lead")
    admins = admin_statement(key_admin, breakglass)
    confidential = _classification("confidential", "payments")
    restricted = _classification("restricted", "payments")
    internal = _classification("internal", "payments")

    # The clean reference key: rotation every 90 days, declared admins and users, a grant to an internal
    # role (passes every key rule).
    key = p.key(
        home, "payments-db",
        [admins, use_statement(app["app-payments"]), attachment_statement(app["app-payments"])],
        description="Payments database (RDS) encryption", tags=confidential, rotation=90,
    )  # fmt: skip
    p.grant(key, "payments-worker", app["app-payments-worker"], ["Encrypt", "Decrypt", "GenerateDataKey"])

    # Restricted data in multi-tenant KMS (the policy wants dedicated_hsm); rotation every 365 days;
    # devops-lead both administers and uses it (SoD conflict; undeclared administrator and user).
    p.key(
        home, "customer-pii",
        [admin_statement(key_admin, breakglass, devops), use_statement(app["app-crm"], devops)],
        description="Customer PII in the CRM", tags=restricted, rotation=365,
    )  # fmt: skip

    # RSA 2048 (below min_rsa_bits 3072) with a single administrator.
    p.key(
        home, "doc-signing",
        [admin_statement(key_admin), use_statement(app["app-docsign"], actions=SIGN_ACTIONS)],
        description="Signs customer documents", spec="RSA_2048", usage="SIGN_VERIFY", tags=internal,
    )  # fmt: skip
    # NIST P-256 for signing: an allowed curve and purpose.
    p.key(
        home, "api-token-signing",
        [admins, use_statement(app["app-auth"], actions=SIGN_ACTIONS)],
        description="Signs API access tokens", spec="ECC_NIST_P256", usage="SIGN_VERIFY", tags=internal,
    )  # fmt: skip

    # Restricted card data in the CloudHSM key store: 2 HSMs in 2 zones (custom_key_store_healthy PASS,
    # key_hsm_backed_when_required PASS at dedicated_hsm).
    store = "cks-0f1e2d3c4b5a69788"
    cluster = p.cloudhsm_key_store(home, store, "cde-cloudhsm", zones=("a", "b"))
    for alias, description in (
        ("cardholder-vault", "Cardholder data vault"),
        ("card-tokenization", "Card number tokenization"),
    ):
        p.key_in_store(
            home, alias, [admins, use_statement(app["app-cde-tokenizer"])],
            store=store, cluster=cluster, description=description, tags=restricted,
        )  # fmt: skip

    # The console's default policy (root delegation: the account root both administers and uses the key)
    # and automatic rotation off.
    p.key(
        home, "session-cache",
        [
            root_statement(p.id), admins,
            use_statement(app["app-sessions"]), attachment_statement(app["app-sessions"]),
        ],
        description="Session cache (ElastiCache)", tags=internal,
    )  # fmt: skip

    # Multi-region key for disaster recovery, tagged dr_replica=true (key_multi_region_justified PASS).
    dr_tags = {**confidential, "dr_replica": "true"}
    key = p.key(
        home, "payments-dr", [admins, use_statement(app["app-payments"])],
        description="Payments backups, replicated for disaster recovery", tags=dr_tags, rotation=90,
        multi_region=True,
    )  # fmt: skip
    p.replicate(key, other, "payments-dr", tags=dr_tags, rotation_days=90)

    # A retired multi-region key scheduled for deletion with AWS's shortest waiting period, 7 days
    # (key_not_pending_deletion FAIL; key_store_deletion_protected FAIL: 7 < 30), with its replica.
    key = p.key(
        home, "legacy-exports", [admins, use_statement(app["app-legacy-exports"])],
        description="Legacy export files (retired)", tags=internal, rotation=90, multi_region=True,
    )  # fmt: skip
    replica = p.replicate(key, other, "legacy-exports", tags=internal, rotation_days=90)
    p.schedule_deletion(key, 7, has_replicas=True)
    p.schedule_deletion(replica, 7)

    # Hold-your-own-key in the external key store, whose proxy stopped answering (DISCONNECTED).
    xks = "cks-7a8b9c0d1e2f3a4b5"
    p.external_key_store(other, xks, "settlement-xks", "https://xks.settlement.example.com")
    p.key_in_store(
        other, "hyok-settlement", [admins, use_statement(app["app-settlement"])],
        store=xks, xks_key="settlement-kek-01", description="Settlement files (hold your own key)",
        tags=restricted,
    )  # fmt: skip

    # Imported key material (BYOK) on the console default policy; the partner account may use it and `*`
    # may decrypt only from within the organization (conditional: key_not_publicly_accessible PASS).
    key = p.key(
        other, "partner-byok",
        [
            root_statement(p.id),
            admins,
            use_statement(f"arn:aws:iam::{PARTNER_ACCOUNT}:root", sid="Allow use by Example Partner Ltd"),
            anyone_statement(
                "Allow decrypt within the organization", ["kms:Decrypt", "kms:DescribeKey"],
                {"StringEquals": {"aws:PrincipalOrgID": org_id}},
            ),
        ],
        description="Partner file exchange (imported key material)", tags=confidential, origin="EXTERNAL",
    )  # fmt: skip
    # moto has no ImportKeyMaterial: describe the key as AWS does once its material is imported.
    simulator.set_key_metadata(
        p.id, other, key.key_id,
        ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=time.time() + 300 * DAY,
    )  # fmt: skip

    # Imported (BYOK) material imported without an expiry (key_expiration_set FAIL): AWS lets imported
    # material expire, and the policy wants keys to carry one where the platform supports it.
    key = p.key(
        other, "legacy-byok", [admins, use_statement(app["app-settlement"])],
        description="Legacy BYOK key, material imported without expiry", tags=internal, origin="EXTERNAL",
    )  # fmt: skip
    simulator.set_key_metadata(p.id, other, key.key_id, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")

    # A grant to another account (key_grants_restricted FAIL; undeclared user).
    key = p.key(
        other, "settlement-batch", [admins, use_statement(app["app-settlement"])],
        description="Nightly settlement batch", tags=internal, rotation=90,
    )  # fmt: skip
    p.grant(
        key,
        "partner-settlement-files",
        f"arn:aws:iam::{PARTNER_ACCOUNT}:root",
        ["Decrypt", "GenerateDataKey"],
    )

    # HMAC key for webhook signatures: no rotation (not applicable), an allowed algorithm.
    p.key(
        other, "webhook-hmac", [admins, use_statement(app["app-webhooks"], actions=MAC_ACTIONS)],
        description="Signs outgoing webhooks", spec="HMAC_256", usage="GENERATE_VERIFY_MAC", tags=internal,
    )  # fmt: skip

    # A grant that includes CreateGrant: its holder can delegate the key further (key_grants_restricted
    # FAIL, and it becomes an administrator who also uses the key).
    key = p.key(
        other, "reporting-exports", [admins, use_statement(app["app-reporting"])],
        description="Reporting exports to S3", tags=internal, rotation=90,
    )  # fmt: skip
    p.grant(
        key,
        "reporting-delegation",
        app["app-reporting"],
        ["Encrypt", "Decrypt", "GenerateDataKey", "CreateGrant"],
    )

    # A multi-region trail logging all management events: KMS is logged in every region.
    p.trail(home, "payments-audit", multi_region=True)


def _data_account(d: _Account, home: str, other: str) -> None:
    """data-prod: a role that may decrypt with every key (no_decrypt_on_all_keys FAIL), a CloudHSM key
    store whose cluster has one HSM, and trails that miss KMS events."""
    key_admin = d.role(
        "KeyAdmin",
        managed={
            "kms-key-administration": _identity_policy(
                {"Effect": "Allow", "Action": ADMIN_ACTIONS, "Resource": f"arn:aws:kms:*:{d.id}:key/*"}
            )
        },
    )
    breakglass = d.role("KeyAdminBreakGlass")
    # Security Hub KMS.1: a customer managed policy allowing kms:Decrypt on every key.
    d.role(
        "LegacyBatchJob",
        service="batch.amazonaws.com",
        managed={
            "kms-decrypt-all": _identity_policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
        },
    )
    app = d.roles(
        "app-ingest", "app-exporter", "app-analytics", "app-datalake", "app-sessions-archive", "app-fx",
        "app-partner-exchange", "app-ledger", "app-ml", "app-log-reader",
        service="ecs-tasks.amazonaws.com",
    )  # fmt: skip
    admins = admin_statement(key_admin, breakglass)
    confidential = _classification("confidential", "data-platform")
    restricted = _classification("restricted", "data-platform")
    internal = _classification("internal", "data-platform")

    # Users only, no administrator (key_has_multiple_admins FAIL: unmanageable), rotation off.
    d.key(
        home, "clickstream-raw", [use_statement(app["app-ingest"]), attachment_statement(app["app-ingest"])],
        description="Raw clickstream events", tags=internal,
    )  # fmt: skip
    # RSA 4096 for encryption: meets min_rsa_bits.
    d.key(
        home, "export-envelope",
        [
            admins,
            use_statement(app["app-exporter"], actions=RSA_ENCRYPT_ACTIONS),
        ],
        description="Envelope encryption of data exports", spec="RSA_4096", tags=confidential,
    )  # fmt: skip
    # Console default policy: LegacyBatchJob's decrypt-all policy reaches this key through root delegation.
    # With the three analytics readers that makes four users (key_users_limited FAIL at the limit of 3).
    readers = (app["app-analytics"], app["app-ml"], app["app-log-reader"])
    d.key(
        home, "analytics-warehouse",
        [root_statement(d.id), admins, use_statement(*readers), attachment_statement(app["app-analytics"])],
        description="Analytics warehouse (Redshift)", tags=confidential, rotation=90,
    )  # fmt: skip
    # Restricted data in a CloudHSM key store whose cluster has a single HSM in one zone
    # (custom_key_store_healthy FAIL; the key itself meets dedicated_hsm).
    store = "cks-1c2d3e4f5a6b7c8d9"
    cluster = d.cloudhsm_key_store(home, store, "analytics-cloudhsm", zones=("a",))
    d.key_in_store(
        home, "data-lake-restricted", [admins, use_statement(app["app-datalake"])],
        store=store, cluster=cluster, description="Restricted data lake zone", tags=restricted,
    )  # fmt: skip

    # A multi-region primary scheduled for deletion with 30 days' wait while its replica remains
    # (key_store_deletion_protected PASS: 30 >= 30; key_not_pending_deletion FAIL).
    archive_tags = {**internal, "dr_replica": "true"}
    key = d.key(
        home, "retired-sessions", [admins, use_statement(app["app-sessions-archive"])],
        description="Session archive (being retired)", tags=archive_tags, rotation=90, multi_region=True,
    )  # fmt: skip
    d.replicate(key, other, "retired-sessions", tags=archive_tags, rotation_days=90)
    d.schedule_deletion(key, 30, has_replicas=True)
    # Multi-region without the dr_replica tag (key_multi_region_justified FAIL).
    key = d.key(
        home, "fx-rates", [admins, use_statement(app["app-fx"])],
        description="FX rate feeds", tags=internal, rotation=90, multi_region=True,
    )  # fmt: skip
    d.replicate(key, other, "fx-rates", tags=internal, rotation_days=90)
    # NIST P-256 used for key agreement: the policy allows elliptic curves for signing only.
    d.key(
        home, "partner-key-agreement",
        [admins, use_statement(app["app-partner-exchange"], actions=AGREEMENT_ACTIONS)],
        description="ECDH with partner systems", spec="ECC_NIST_P256", usage="KEY_AGREEMENT", tags=internal,
    )  # fmt: skip

    # secp256k1 (not an allowed curve), and `*` may verify and read it without a condition
    # (key_not_publicly_accessible FAIL).
    d.key(
        other, "ledger-signing",
        [
            admins,
            use_statement(app["app-ledger"], actions=SIGN_ACTIONS),
            anyone_statement(
                "Allow public verification", ["kms:Verify", "kms:GetPublicKey", "kms:DescribeKey"]
            ),
        ],
        description="Signs ledger entries", spec="ECC_SECG_P256K1", usage="SIGN_VERIFY", tags=internal,
    )  # fmt: skip
    # Rotation on AWS's default period (365 days > max_days 90).
    d.key(
        other, "ml-features", [admins, use_statement(app["app-ml"])],
        description="ML feature store", tags=confidential, rotation=True,
    )  # fmt: skip
    # CloudTrail encrypts the us trail's logs with this key (a declared service user).
    trail_arn = f"arn:aws:cloudtrail:{other}:{d.id}:trail/data-us"
    trail_key = d.key(
        other, "cloudtrail-logs",
        [admins, use_statement(app["app-log-reader"], actions=["kms:Decrypt", "kms:DescribeKey"]),
         cloudtrail_statement(d.id, trail_arn)],
        description="Encrypts data-prod's CloudTrail log files", tags=internal, rotation=90,
    )  # fmt: skip
    # A disabled key kept for old archives (judged by the access rules, not by rotation).
    key = d.key(
        other, "billing-archive-2019",
        [root_statement(d.id), admins, use_statement(app["app-exporter"])],
        description="Billing archive 2019 (disabled)", tags=confidential,
    )  # fmt: skip
    d.client("kms", other).disable_key(KeyId=key.key_id)

    # home: a single-region trail that excludes KMS events (neither administration nor use is logged);
    # other: a write-only trail (administration logged, key use not).
    d.trail(
        home, "data-eu", multi_region=False,
        selectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True,
                    "ExcludeManagementEventSources": ["kms.amazonaws.com"]}],
    )  # fmt: skip
    d.trail(
        other, "data-us", multi_region=False, kms_key=trail_key.arn,
        selectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}],
    )  # fmt: skip

    _data_ai_workloads(d, admins, home, other)


# ------------------------------------------------------------------------------------------- AI workloads
def via_service_statement(sid: str, principal: str, service: str, region: str) -> Statement:
    """A role may use the key only through ``service`` (``kms:ViaService``), as SageMaker and Bedrock do on
    its behalf, or as S3 does for a bucket encrypted with the key."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": ENCRYPT_ACTIONS,
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}},
    }


def _data_ai_workloads(d: _Account, admins: Statement, home: str, other: str) -> None:
    """data-prod's SageMaker and Bedrock resources and the keys protecting them (the AI rules,
    ``ai_workloads`` of samples/cek-policy.yaml: HSM, rotation within 90 days, imported or external origin,
    dedicated keys per tenant tag ``tenant``)."""
    role_arn = d.role("sagemaker-execution", service="sagemaker.amazonaws.com")
    agent_role = d.role("bedrock-agents", service="bedrock.amazonaws.com")
    training_role = d.role("sagemaker-training", service="sagemaker.amazonaws.com")
    notebook_role = d.role("sagemaker-notebooks", service="sagemaker.amazonaws.com")
    pipeline_role = d.role("app-ml-pipeline", service="ecs-tasks.amazonaws.com")
    confidential = _classification("confidential", "ml-platform")
    source_account = {"StringEquals": {"aws:SourceAccount": d.id}}

    # The key the policy wants: imported material (BYOK) renewed within 90 days, used only by Bedrock and by
    # roles through Bedrock and SageMaker, protecting one tenant's AI resources. Passes every AI rule.
    acme = d.key(
        home, "ai-acme-byok",
        [
            admins,
            service_statement("Allow Bedrock to use the key", "bedrock.amazonaws.com",
                              ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], source_account),
            via_service_statement("Allow Bedrock agents", agent_role, "bedrock", home),
            via_service_statement("Allow SageMaker inference", role_arn, "sagemaker", home),
        ],
        description="AI workloads of tenant acme (imported key material)", tags=confidential, origin="EXTERNAL",
    )  # fmt: skip
    # moto has no ImportKeyMaterial: describe the key as AWS does once its material is imported.
    simulator.set_key_metadata(
        d.id, home, acme.key_id, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=time.time() + 80 * DAY
    )
    # AWS generated material rotated yearly; SageMaker's service principal holds kms:* (ai_service_not_key_admin
    # FAIL) and the pipeline's role may use the key through S3 too (ai_workload_keys_dedicated FAIL).
    pipeline = d.key(
        home, "ml-pipeline",
        [
            admins,
            service_statement("Allow SageMaker", "sagemaker.amazonaws.com", ["kms:*"], source_account),
            via_service_statement("Allow SageMaker training", training_role, "sagemaker", home),
            via_service_statement("Allow the feature bucket", pipeline_role, "s3", home),
        ],
        description="ML training pipeline volumes and artifacts", tags=confidential, rotation=True,
    )  # fmt: skip
    # Rotated every 90 days but generated by AWS (key_origin_allowed FAIL for an AI key) and shared by two
    # tenants' notebooks (ai_workload_keys_dedicated FAIL).
    notebooks = d.key(
        home, "ai-notebooks",
        [admins, via_service_statement("Allow SageMaker notebooks", notebook_role, "sagemaker", home)],
        description="Research notebook volumes", tags=confidential, rotation=90,
    )  # fmt: skip

    sagemaker = d.client("sagemaker", home)
    for tenant in ("acme", "globex"):
        sagemaker.create_notebook_instance(
            NotebookInstanceName=f"research-{tenant}", InstanceType="ml.t3.medium", RoleArn=notebook_role,
            KmsKeyId=notebooks.key_id, Tags=[{"Key": "tenant", "Value": tenant}],
        )  # fmt: skip
    sagemaker.create_model(
        ModelName="fraud-scoring-xgb", ExecutionRoleArn=role_arn,
        PrimaryContainer={"Image": "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
    )  # fmt: skip
    # Named by its alias, as teams often do: the scan resolves it to the key.
    sagemaker.create_endpoint_config(
        EndpointConfigName="fraud-scoring",
        ProductionVariants=[{"VariantName": "primary", "ModelName": "fraud-scoring-xgb",
                             "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}],
        KmsKeyId="alias/ai-acme-byok", Tags=[{"Key": "tenant", "Value": "acme"}],
    )  # fmt: skip
    sagemaker.create_training_job(
        TrainingJobName="churn-training-2026-11", RoleArn=training_role,
        AlgorithmSpecification={"TrainingImage": "683313688378.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1",
                                "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": f"s3://ml-artifacts-{d.id}/churn/", "KmsKeyId": pipeline.arn},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50,
                        "VolumeKmsKeyId": pipeline.arn},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )  # fmt: skip
    sagemaker.create_processing_job(
        ProcessingJobName="churn-features-2026-11", RoleArn=training_role,
        AppSpecification={"ImageUri": "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2"},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                               "VolumeSizeInGB": 30, "VolumeKmsKeyId": pipeline.key_id}},
        ProcessingOutputConfig={"Outputs": [], "KmsKeyId": pipeline.key_id},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )  # fmt: skip

    agents = d.client("bedrock-agent", home)
    agents.create_agent(
        agentName="support-assistant", agentResourceRoleArn=agent_role, customerEncryptionKeyArn=acme.arn,
        foundationModel="anthropic.claude-3-5-sonnet-20240620-v1:0", tags={"tenant": "acme"},
    )  # fmt: skip
    knowledge_base = agents.create_knowledge_base(
        name="support-docs", roleArn=agent_role, tags={"tenant": "acme"},
        knowledgeBaseConfiguration={
            "type": "VECTOR",
            "vectorKnowledgeBaseConfiguration": {
                "embeddingModelArn": f"arn:aws:bedrock:{home}::foundation-model/amazon.titan-embed-text-v2:0"
            },
        },
        storageConfiguration={
            "type": "OPENSEARCH_SERVERLESS",
            "opensearchServerlessConfiguration": {
                "collectionArn": f"arn:aws:aoss:{home}:{d.id}:collection/support-docs",
                "vectorIndexName": "support-docs",
                "fieldMapping": {"vectorField": "embedding", "textField": "text", "metadataField": "metadata"},
            },
        },
    )["knowledgeBase"]  # fmt: skip
    agents.create_data_source(  # the simulator's CreateDataSource
        knowledgeBaseId=knowledge_base["knowledgeBaseId"], name="support-articles",
        dataSourceConfiguration={"type": "S3", "s3Configuration": {"bucketArn": f"arn:aws:s3:::support-{d.id}"}},
        serverSideEncryptionConfiguration={"kmsKeyArn": acme.arn},
    )  # fmt: skip

    # The one AI resource left on AWS's own key: a model customized without customModelKmsKeyId
    # (ai_resource_uses_customer_managed_key FAIL).
    d.client("bedrock", other).create_model_customization_job(
        jobName="faq-tuning-2026-11", customModelName="faq-assistant-tuned", roleArn=agent_role,
        baseModelIdentifier="amazon.titan-text-express-v1", hyperParameters={"epochCount": "2"},
        trainingDataConfig={"s3Uri": f"s3://ml-training-{d.id}/faq/train.jsonl"},
        outputDataConfig={"s3Uri": f"s3://ml-training-{d.id}/faq/output/"},
        customModelTags=[{"key": "tenant", "value": "acme"}],
    )  # fmt: skip
