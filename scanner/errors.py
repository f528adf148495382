"""Errors the CLI maps to exit codes (SPEC 3)."""

from __future__ import annotations


class KeyauditError(Exception):
    """Base class; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class InputError(KeyauditError):
    """Bad input: flags, policy, waiver or inventory file. The message names the file and the place."""

    exit_code = 2


class RuntimeFailure(KeyauditError):
    """The scan could not run."""

    exit_code = 1
