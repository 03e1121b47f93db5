"""Tenants (municipalities) and their departments."""
