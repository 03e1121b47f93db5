"""The topics the identity service owns (provisioned by its worker).

``identity.accounts`` carries e-mail addresses (notification must reach people); the platform's
default retention of 7 days bounds how long an erased person's address remains in Kafka.
Consumers keep their own state from the events; nobody rebuilds from the topic's beginning.
"""

from city_shared.topics import TopicSpec

ACCOUNTS = "identity.accounts"

OWNED_TOPICS = (TopicSpec(ACCOUNTS),)
