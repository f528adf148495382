"""keyaudit: audits cloud key-management configuration against an organisation's CEK policy."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("keyaudit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
