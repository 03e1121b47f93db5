"""Accounts: citizens and staff of a tenant, their verified attributes and department roles."""
