"""Payments: create, read, list, cancel, their state machine and history, provider outcomes."""
