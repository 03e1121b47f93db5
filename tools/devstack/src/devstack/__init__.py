"""Real infrastructure for the local stack and the tests: PostgreSQL, Kafka (KRaft) and SMTP.

Every server binds 127.0.0.1 only and is stopped by its owner; importing this package starts
nothing. The pytest fixtures live in `devstack.pytest_plugin`.
"""
