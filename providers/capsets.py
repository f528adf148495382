"""One-capability sets shared by every provider's permission table (so the tables read as words)."""

from scanner.inventory import Capability

ADMIN = frozenset({Capability.ADMINISTER_ACCESS})
LIFECYCLE = frozenset({Capability.MANAGE_LIFECYCLE})
DESTROY = frozenset({Capability.DESTROY})
IMPORT = frozenset({Capability.IMPORT_MATERIAL})
ENCRYPT = frozenset({Capability.ENCRYPT})
DECRYPT = frozenset({Capability.DECRYPT})
SIGN = frozenset({Capability.SIGN})
VERIFY = frozenset({Capability.VERIFY})
EXPORT = frozenset({Capability.EXPORT})
READ = frozenset({Capability.READ_METADATA})
NOTHING: frozenset[Capability] = frozenset()
