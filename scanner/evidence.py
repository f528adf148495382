"""The evidence bundle (``--evidence DIR``): everything an auditor needs to check a run, in one directory.

Contents: the inventory snapshot the rules judged, the results in keyaudit's JSON and in OCSF, the policy
file used, the CAIQ answer sheet (JSON and Markdown), the HTML report, and ``manifest.json`` with the
sha256 and size of every file, the tool version, run id, times and scopes, and the command that
reproduces the findings from the bundle alone (``keyaudit evaluate`` on the bundled inventory and policy,
at the run's clock).

The bundle appears all at once: it is written into a hidden sibling directory and renamed into place at
the end, so an interrupted run leaves no half-written bundle behind (and an existing non-empty directory
is refused before any work starts).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.errors import InputError
from scanner.inventory import Inventory
from scanner.output import OutputTarget

MANIFEST = "manifest.json"
INVENTORY = "inventory.json"
RESULT = "result.json"
# format -> file name in the bundle
FORMATS: dict[str, str] = {
    "json": RESULT,
    "ocsf": "result.ocsf.ndjson",
    "caiq": "answer-sheet.caiq.json",
    "caiq-md": "answer-sheet.caiq.md",
    "html": "report.html",
}
DEFAULT_POLICY_NOTE = "cek-policy.built-in-defaults.txt"


@dataclass
class EvidenceBundle:
    target: Path
    staging: Path
    outputs: list[OutputTarget] = field(default_factory=list)

    @classmethod
    def prepare(cls, target: Path) -> EvidenceBundle:
        """Check ``target`` (absent, or an empty directory) and create the staging directory beside it."""
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise InputError(
                f"--evidence {target}: must be a new or empty directory (it would be overwritten)"
            )
        parent = target.parent if str(target.parent) else Path(".")
        if not parent.is_dir():
            raise InputError(f"--evidence {target}: the directory {parent} does not exist")
        if not os.access(parent, os.W_OK):
            raise InputError(f"--evidence {target}: cannot write in {parent}")
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
        bundle = cls(target=target, staging=staging)
        bundle.outputs = [OutputTarget(fmt, staging / name) for fmt, name in FORMATS.items()]
        return bundle

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def finish(
        self, inventory: Inventory, policy_path: Path | None, waivers_path: Path | None = None
    ) -> Path:
        """Add the inventory, the policy (and waivers) and the manifest, then move the bundle into place."""
        try:
            (self.staging / INVENTORY).write_bytes(inventory.model_dump_json(indent=1).encode("utf-8"))
            policy_name = self._policy(policy_path)
            waivers_name = None
            if waivers_path is not None:
                waivers_name = f"waivers-{waivers_path.name}"
                shutil.copyfile(waivers_path, self.staging / waivers_name)
            scan = json.loads((self.staging / RESULT).read_bytes())["scan"]
            manifest = self._manifest(scan, policy_name, policy_path is not None, waivers_name)
            (self.staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            if self.target.exists():
                self.target.rmdir()  # empty: checked by prepare
            os.replace(self.staging, self.target)
        except BaseException:
            self.abort()
            raise
        return self.target

    def _policy(self, policy_path: Path | None) -> str:
        if policy_path is None:
            (self.staging / DEFAULT_POLICY_NOTE).write_text(
                "No policy file was given: keyaudit's built-in defaults applied (cek_policy_present fails).\n",
                encoding="utf-8",
            )
            return DEFAULT_POLICY_NOTE
        name = policy_path.name
        if name in set(FORMATS.values()) | {INVENTORY, MANIFEST}:
            name = f"policy-{name}"
        shutil.copyfile(policy_path, self.staging / name)
        return name

    def _manifest(
        self, scan: dict[str, Any], policy_name: str, has_policy: bool, waivers_name: str | None
    ) -> dict[str, Any]:
        files = []
        for path in sorted(self.staging.iterdir()):
            if path.name == MANIFEST or not path.is_file():
                continue
            digest = hashlib.sha256()
            with path.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
            files.append({"path": path.name, "sha256": digest.hexdigest(), "bytes": path.stat().st_size})
        reproduce = [
            "keyaudit",
            "evaluate",
            INVENTORY,
            "--as-of",
            scan["evaluated_as_of"],
            "--format",
            "json",
        ]
        if has_policy:
            reproduce[3:3] = ["--policy", policy_name]
        if waivers_name:
            reproduce[3:3] = ["--waivers", waivers_name]
        return {
            "bundle": "keyaudit evidence bundle",
            "tool_version": __version__,
            "run_id": scan.get("run_id"),
            "mode": scan.get("mode"),
            "started_at": scan.get("started_at"),
            "finished_at": scan.get("finished_at"),
            "evaluated_as_of": scan.get("evaluated_as_of"),
            "providers": scan.get("providers"),
            "scopes": scan.get("scopes"),
            "policy": {"file": policy_name, "given": has_policy, **(scan.get("policy") or {})},
            "summary": scan.get("summary"),
            "files": files,
            "reproduce": " ".join(reproduce),
        }
