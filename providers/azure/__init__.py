"""Azure provider: Key Vault and Managed HSM keys, vault protections, RBAC and access policies, diagnostics."""
