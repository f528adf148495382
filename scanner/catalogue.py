"""The rule catalogue as readers see it: control look-up for ``rules list --control``, and docs/rules.md.

``python -m scanner.catalogue [PATH]`` (``make docs``) writes the catalogue page; a test checks that the
committed page is what the current rule metadata renders, so the page cannot drift from the rules.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from scanner.rule import RuleMeta

DOCS_PAGE = Path("docs") / "rules.md"

# Framework families in the order the page shows them. A framework is either a family name itself or
# a family name plus "-<version>" (the CIS benchmarks: CIS-AWS-7.0).
FAMILIES: dict[str, str] = {
    "CSA-AICM": "CSA AI Controls Matrix",
    "CIS-AWS": "CIS Amazon Web Services Foundations Benchmark",
    "CIS-GCP": "CIS Google Cloud Platform Foundation Benchmark",
    "CIS-Azure": "CIS Microsoft Azure Foundations Benchmark",
    "AWS-SecurityHub": "AWS Security Hub CSPM controls",
    "GCP-SCC": "Google Cloud Security Command Center findings",
    "AzurePolicy": "Azure Policy built-in definitions",
    "MCSB": "Microsoft cloud security benchmark",
    "ISO-27001-2022": "ISO/IEC 27001:2022 Annex A",
    "ISO-27002-2022": "ISO/IEC 27002:2022",
}

# CSA CCM v4 / AICM control titles of the CEK domain (the AICM reuses the CCM ids).
CEK_TITLES: dict[str, str] = {
    "CEK-01": "Encryption and Key Management Policy and Procedures",
    "CEK-02": "CEK Roles and Responsibilities",
    "CEK-03": "Data Encryption",
    "CEK-04": "Encryption Algorithm",
    "CEK-05": "Encryption Change Management",
    "CEK-06": "Encryption Change Cost Benefit Analysis",
    "CEK-07": "Encryption Risk Management",
    "CEK-08": "CSC Key Management Capability",
    "CEK-09": "Encryption and Key Management Audit",
    "CEK-10": "Key Generation",
    "CEK-11": "Key Purpose",
    "CEK-12": "Key Rotation",
    "CEK-13": "Key Revocation",
    "CEK-14": "Key Destruction",
    "CEK-15": "Key Activation",
    "CEK-16": "Key Suspension",
    "CEK-17": "Key Deactivation",
    "CEK-18": "Key Archival",
    "CEK-19": "Key Compromise",
    "CEK-20": "Key Recovery",
    "CEK-21": "Key Inventory Management",
}

_VERSION = re.compile(r"^\d+(?:\.\d+)*$")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-", re.IGNORECASE)


# ------------------------------------------------------------------------------------------ look-up
def split_control(control: str) -> tuple[str, str]:
    """``"CIS-GCP-3.0:1.11"`` -> ``("CIS-GCP-3.0", "1.11")``."""
    framework, _, ident = control.partition(":")
    return framework, ident


def _framework_matches(query: str, framework: str) -> bool:
    """Case-folded ``query`` names ``framework`` itself or a prefix of it ending at a dash (CIS-GCP)."""
    return bool(query) and (framework == query or framework.startswith(query + "-"))


def control_matches(query: str, control: str) -> bool:
    """Whether a ``--control`` query selects ``control``; case-insensitive, whole parts only.

    ``CEK-02`` matches the control part (``CSA-AICM:CEK-02``, not ``CEK-020``); ``CIS-GCP-3.0:1.11``
    matches exactly; ``AWS-SecurityHub`` or ``CIS-GCP`` match every control of those frameworks; and
    ``CIS-GCP:1.11`` matches 1.11 in every CIS GCP version.
    """
    wanted = query.strip().casefold()
    framework, ident = (part.casefold() for part in split_control(control))
    if ":" in wanted:
        wanted_framework, _, wanted_ident = wanted.partition(":")
        return _framework_matches(wanted_framework, framework) and wanted_ident in ("", ident)
    return wanted == ident or _framework_matches(wanted, framework)


def select_rules(
    metas: Iterable[RuleMeta], *, provider: str | None = None, control: str | None = None
) -> list[RuleMeta]:
    """The rules covering ``provider`` (if given) and mapped to ``control`` (if given)."""
    wanted_provider = provider.strip().casefold() if provider is not None else None
    return [
        meta
        for meta in metas
        if (wanted_provider is None or wanted_provider in meta.providers)
        and (control is None or any(control_matches(control, c) for c in meta.controls))
    ]


def close_controls(query: str, metas: Iterable[RuleMeta], n: int = 3) -> list[str]:
    """Known controls, control ids or frameworks spelled like ``query`` (for a did-you-mean hint)."""
    import difflib

    known: dict[str, str] = {}
    for meta in metas:
        for control in meta.controls:
            framework, ident = split_control(control)
            for name in (control, framework, ident):
                known.setdefault(name.casefold(), name)
    close = difflib.get_close_matches(query.strip().casefold(), known, n=n)
    return [known[name] for name in close]


# ------------------------------------------------------------------------------------------ ordering
def _family(framework: str) -> tuple[int, str, str]:
    """(position among FAMILIES, family, version); unknown frameworks sort last under their own name."""
    for position, family in enumerate(FAMILIES):
        if framework == family:
            return position, family, ""
        version = framework[len(family) + 1 :]
        if framework.startswith(family + "-") and _VERSION.match(version):
            return position, family, version
    return len(FAMILIES), framework, ""


def _natural(text: str) -> tuple[tuple[int, str], ...]:
    """Sort key putting 1.9 before 1.10 and CEK-2 before CEK-10 (GUIDs sort as plain text)."""
    if _GUID.match(text):
        return ((1, text.casefold()),)
    return tuple(
        (0, f"{int(part):012d}") if part.isdigit() else (1, part.casefold())
        for part in re.split(r"(\d+)", text)
        if part
    )


def _framework_key(framework: str) -> tuple[int, str, tuple[int, ...]]:
    position, family, version = _family(framework)
    # Newest version first within a family.
    newest_first = tuple(-int(n) for n in version.split(".")) if version else ()
    return position, family.casefold(), newest_first


def framework_title(framework: str) -> str:
    position, family, version = _family(framework)
    if position == len(FAMILIES):
        return framework
    title = FAMILIES[family]
    return f"{title} v{version}" if version else title


def _by_framework(controls: Iterable[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for control in controls:
        framework, ident = split_control(control)
        if ident not in grouped[framework]:
            grouped[framework].append(ident)
    return {
        framework: sorted(grouped[framework], key=_natural)
        for framework in sorted(grouped, key=_framework_key)
    }


# ------------------------------------------------------------------------------------------ Markdown
_CODE_SPAN = re.compile(r"(`[^`]*`)")


def _inline(text: str, *, cell: bool = False) -> str:
    """Metadata prose as one Markdown line: outside code spans ``<`` is escaped so placeholders like
    <vault> are not taken for HTML; in table cells ``|`` is escaped everywhere (GitHub needs it even
    inside code spans)."""
    parts = _CODE_SPAN.split(" ".join(text.split()))
    out = "".join(
        part if part.startswith("`") and part.endswith("`") and len(part) > 1 else part.replace("<", "&lt;")
        for part in parts
    )
    return out.replace("|", "\\|") if cell else out


def _link(rule_id: str) -> str:
    # GitHub anchors keep lower case letters, digits, '-' and '_': a rule id is its own anchor.
    return f"[{rule_id}](#{rule_id})"


def _controls_index(metas: Sequence[RuleMeta]) -> dict[str, dict[str, list[str]]]:
    """framework -> control id -> rule ids."""
    index: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for meta in metas:
        for control in meta.controls:
            framework, ident = split_control(control)
            if meta.id not in index[framework][ident]:
                index[framework][ident].append(meta.id)
    return index


def render_markdown(metas: Sequence[RuleMeta]) -> str:
    """The catalogue page: index, one section per rule, and control -> rules tables per framework."""
    metas = sorted(metas, key=lambda m: m.id)
    lines: list[str] = [
        "<!-- Generated from the rules' metadata (rules/*.py) by `make docs`; do not edit by hand. -->",
        "",
        "# keyaudit rule catalogue",
        "",
        f"{len(metas)} rules. `keyaudit rules show RULE_ID` prints one rule; "
        "`keyaudit rules list --control CEK-02` lists the rules mapped to a control (a control id, "
        "`FRAMEWORK:CONTROL` such as `CIS-GCP-5.0:1.12`, or a framework such as `AWS-SecurityHub`).",
        "",
        "A control mapping means the rule checks that control's requirement, wholly or in part: a failing "
        "finding is evidence against the control, a passing one is evidence for the part the rule covers, "
        "not for the whole control. Controls no rule maps to are listed too, so that gaps are visible.",
        "",
        "## Index",
        "",
        "| Rule | Severity | Providers | Title | CSA AICM |",
        "|---|---|---|---|---|",
    ]
    for meta in metas:
        cek = _by_framework(meta.controls).get("CSA-AICM", [])
        lines.append(
            f"| {_link(meta.id)} | {meta.severity.value} | {', '.join(meta.providers)} | "
            f"{_inline(meta.title, cell=True)} | {', '.join(cek)} |"
        )
    lines += ["", "## Rules", ""]
    for meta in metas:
        lines += _rule_section(meta)
    lines += _cross_reference(metas)
    return "\n".join(lines).rstrip("\n") + "\n"


def _rule_section(meta: RuleMeta) -> list[str]:
    lines = [
        f"### {meta.id}",
        "",
        f"**{_inline(meta.title)}**",
        "",
        f"Severity: **{meta.severity.value}**. Providers: {', '.join(meta.providers)}.",
        "",
        _inline(meta.rationale),
        "",
        "Remediation:",
        "",
    ]
    lines += [f"- **{provider}**: {_inline(text)}" for provider, text in meta.remediation.items()]
    lines += ["", "Controls:", ""]
    for framework, idents in _by_framework(meta.controls).items():
        shown = [
            f"{i} ({CEK_TITLES[i]})" if framework == "CSA-AICM" and i in CEK_TITLES else i for i in idents
        ]
        lines.append(f"- {_inline(framework_title(framework))} (`{framework}`): {', '.join(shown)}")
    if meta.references:
        lines += ["", "References:", ""]
        lines += [f"- {_inline(reference)}" for reference in meta.references]
    lines.append("")
    return lines


def _cross_reference(metas: Sequence[RuleMeta]) -> list[str]:
    index = _controls_index(metas)
    cek = index.get("CSA-AICM", {})
    idents = sorted(set(CEK_TITLES) | set(cek), key=_natural)
    uncovered = [ident for ident in idents if ident not in cek]
    lines = [
        "## Controls to rules",
        "",
        f"### {FAMILIES['CSA-AICM']} (`CSA-AICM`)",
        "",
        "The AI Controls Matrix keeps the CEK control ids of CSA CCM v4, so this table reads the same "
        "for the CCM.",
    ]
    if uncovered:
        lines[-1] += (
            f" No rule maps to {', '.join(uncovered)}: a configuration scan cannot show them (process "
            "controls such as change management) or no rule judges them yet; answer them from other evidence."
        )
    lines += ["", "| Control | Title | Rules |", "|---|---|---|"]
    for ident in idents:
        rules = ", ".join(_link(r) for r in sorted(cek.get(ident, []))) or "none"
        lines.append(f"| {ident} | {_inline(CEK_TITLES.get(ident, ''), cell=True)} | {rules} |")
    lines.append("")
    for framework in sorted(index, key=_framework_key):
        if framework == "CSA-AICM":
            continue
        lines += [
            f"### {_inline(framework_title(framework))} (`{framework}`)",
            "",
            "| Control | Rules |",
            "|---|---|",
        ]
        for ident in sorted(index[framework], key=_natural):
            rules = ", ".join(_link(r) for r in sorted(index[framework][ident]))
            lines.append(f"| {_inline(ident, cell=True)} | {rules} |")
        lines.append("")
    return lines


def write_page(path: Path, text: str) -> None:
    """Replace ``path`` atomically: a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8", newline="\n")
    partial.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    from scanner.engine import discover_rules

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("usage: python -m scanner.catalogue [PATH]  (default docs/rules.md)", file=sys.stderr)
        return 2
    path = Path(args[0]) if args else DOCS_PAGE
    write_page(path, render_markdown([rule.meta for rule in discover_rules()]))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
