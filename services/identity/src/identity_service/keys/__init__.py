"""Signing keys: generation, encryption at rest, rotation with an overlap, the published JWKS."""
