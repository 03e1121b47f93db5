"""Attachments of drafts and cases: metadata rows here, content behind a storage interface."""
