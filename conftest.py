"""Root pytest configuration: the real PostgreSQL/Kafka/SMTP fixtures from `devstack`."""

pytest_plugins = ["devstack.pytest_plugin"]
