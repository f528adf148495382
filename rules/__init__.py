"""The rule catalogue: one module per rule, discovered by scanner.engine.

A rule module defines ``META`` (scanner.rule.RuleMeta, ``id`` equal to the module name) and
``evaluate(ctx: scanner.rule.Context) -> Iterable[scanner.rule.RuleResult]``.
Rules are pure: no I/O, no globals, no logging.
"""
