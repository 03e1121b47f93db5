"""The topics the identity service owns (provisioned by its worker)."""

from city_shared.topics import TopicSpec

ACCOUNTS = "identity.accounts"

OWNED_TOPICS = (TopicSpec(ACCOUNTS, retention_ms=-1),)
