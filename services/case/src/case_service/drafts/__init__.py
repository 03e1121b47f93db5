"""Drafts: an application being filled in, prefilled from the citizen's verified attributes."""
