"""The AWS provider plugin, registered under the ``keyaudit.providers`` entry point ``aws``."""

from __future__ import annotations

from datetime import UTC, datetime

from providers.recorder import call_notes
from scanner import __version__
from scanner.inventory import CollectionInfo, Inventory, Provider
from scanner.provider import CollectRequest


class AwsProvider:
    name = "aws"

    def required_policy(self) -> str:
        """The minimal IAM policy (JSON) the scan needs, derived from the read-only allow-list."""
        import json

        from providers.aws.readonly import required_policy

        return json.dumps(required_policy(), indent=2)

    def demo(self, request: CollectRequest) -> Inventory:
        """Build the simulated AWS Organization in in-process moto and scan it through the real code."""
        from scanner.errors import RuntimeFailure

        try:
            from moto import mock_aws
        except ImportError as exc:
            raise RuntimeFailure(
                "keyaudit demo needs the cloud simulators: pip install 'keyaudit[demo]'"
            ) from exc
        from providers.aws import simulator
        from providers.aws.demo import build_demo_estate

        simulator.patch_moto()
        simulator.reset()
        with simulator.isolated_environment(), mock_aws():
            estate = build_demo_estate()
            options = {"regions": estate.regions, "org_role": estate.org_role}
            # One worker: moto's in-process backends are not thread-safe (a concurrent list can fail at
            # random), and the demo must be the same every time; real scans keep --concurrency.
            return self.collect(CollectRequest(options=options, concurrency=1, progress=request.progress))

    def collect(self, request: CollectRequest) -> Inventory:
        # boto3 is imported here, not at module level: only an AWS scan pays for it.
        from providers.aws.collect import AwsCollector, AwsOptions
        from providers.aws.normalise import normalise

        started = datetime.now(UTC)
        options = AwsOptions.from_cli(request.options, request.concurrency)
        estate = AwsCollector(options, request.progress).collect()
        calls = estate.api_calls
        info = CollectionInfo(
            tool_version=__version__,
            started_at=started,
            finished_at=datetime.now(UTC),
            providers=(Provider.AWS,),
            notes={
                "aws.accounts": str(len(estate.accounts)),
                **call_notes("aws", calls),
            },
        )
        return normalise(estate, info)
