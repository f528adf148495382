"""Rule discovery (one module per rule under ``rules/``) and evaluation into findings."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType

from pydantic import ValidationError

from scanner.findings import Finding
from scanner.rule import Context, ResourceRef, RuleMeta, RuleResult, Status

Evaluate = Callable[[Context], Iterable[RuleResult]]


@dataclass(frozen=True)
class Rule:
    meta: RuleMeta
    evaluate: Evaluate
    module: str


class RuleCatalogError(Exception):
    """A rule module is malformed (missing or invalid metadata): a defect of keyaudit, not of the user."""


def discover_rules(package: str = "rules") -> list[Rule]:
    """Import every module of ``package``, validate its metadata, return the rules sorted by id."""
    pkg = importlib.import_module(package)
    problems: list[str] = []
    rules: list[Rule] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        rule, errors = _load_rule(module, info.name)
        problems.extend(errors)
        if rule is not None:
            rules.append(rule)
    ids = [r.meta.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"duplicate rule ids: {duplicates}")
    if problems:
        raise RuleCatalogError("invalid rule catalogue:\n  " + "\n  ".join(problems))
    return sorted(rules, key=lambda r: r.meta.id)


def _load_rule(module: ModuleType, name: str) -> tuple[Rule | None, list[str]]:
    raw_meta = getattr(module, "META", None)
    evaluate = getattr(module, "evaluate", None)
    errors = []
    if raw_meta is None:
        errors.append(f"{module.__name__}: no META")
    if not callable(evaluate):
        errors.append(f"{module.__name__}: no evaluate(ctx) function")
    if errors:
        return None, errors
    try:
        meta = raw_meta if isinstance(raw_meta, RuleMeta) else RuleMeta.model_validate(raw_meta)
        meta = RuleMeta.model_validate(meta.model_dump())  # re-validate instances built elsewhere too
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'META'}: {e['msg']}" for e in exc.errors())
        return None, [f"{module.__name__}: invalid META: {details}"]
    if meta.id != name:
        return None, [f"{module.__name__}: META.id {meta.id!r} must equal the module name {name!r}"]
    assert evaluate is not None
    return Rule(meta=meta, evaluate=evaluate, module=module.__name__), []


def evaluate_rule(rule: Rule, ctx: Context) -> list[Finding]:
    """Run one rule. A rule that raises yields one ERROR finding and the run goes on."""
    try:
        results = list(rule.evaluate(ctx))
    except Exception as exc:  # a defect in one rule must not stop the others
        return [_error_finding(rule, f"rule raised {type(exc).__name__}: {exc}; its checks did not run")]
    findings: list[Finding] = []
    seen: set[str] = set()
    covered = rule.meta.providers
    for result in results:
        if not isinstance(result, RuleResult):
            return [_error_finding(rule, f"rule yielded {type(result).__name__}, not RuleResult")]
        if result.provider not in covered:
            continue  # a rule judges only the providers it declares (e.g. grants exist only in AWS)
        finding = Finding.from_result(rule.meta, result)
        if finding.finding_id in seen:
            findings.append(
                _error_finding(
                    rule, f"rule reported {result.resource.uid} in scope {result.scope} more than once"
                )
            )
            continue
        seen.add(finding.finding_id)
        findings.append(finding)
    return findings


def evaluate_all(
    rules: Sequence[Rule], ctx: Context, on_rule_done: Callable[[Rule], None] | None = None
) -> Iterator[Finding]:
    """Findings rule by rule (sorted by rule id), streamed so huge inventories need not fit twice."""
    for rule in rules:
        yield from evaluate_rule(rule, ctx)
        if on_rule_done is not None:
            on_rule_done(rule)


def _error_finding(rule: Rule, message: str) -> Finding:
    provider = rule.meta.providers[0]
    result = RuleResult(
        status=Status.ERROR,
        provider=provider,
        scope="-",
        resource=ResourceRef(uid=f"keyaudit:rule/{rule.meta.id}", type="rule", name=rule.meta.id),
        message=message,
    )
    return Finding.from_result(rule.meta, result)
