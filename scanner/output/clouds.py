"""What the SIEM formats need to know about each cloud, in one table: the outputs look it up instead of
branching on provider names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CloudFacts:
    name: str  # as SIEM schemas spell the provider (OCSF cloud.provider)
    scope_noun: str  # what a scanned scope is called there
    scope_is_project: bool  # the scope is a project (OCSF project_uid, ECS cloud.project) not an account
    key_service: str  # the key-management service (ECS cloud.service.name)
    asff_native: bool  # Security Hub types its resources natively (ARNs, partitions, regions)
    # Keys are listed region by region (a scan may cover only some regions), not per scope at once:
    # a finding missing from an unlisted region is not resolved by its absence (scanner/state).
    regional_listing: bool = False


CLOUDS: dict[str, CloudFacts] = {
    "aws": CloudFacts(
        "AWS",
        "AWS Account",
        scope_is_project=False,
        key_service="kms",
        asff_native=True,
        regional_listing=True,
    ),
    "gcp": CloudFacts("GCP", "GCP Project", scope_is_project=True, key_service="cloudkms", asff_native=False),
    "azure": CloudFacts(
        "Azure", "Azure Subscription", scope_is_project=False, key_service="keyvault", asff_native=False
    ),
}


def cloud_of(provider: str) -> CloudFacts | None:
    """The facts of a cloud provider; None for findings about the policy document itself."""
    return CLOUDS.get(provider)
