"""The topics the case service owns (provisioned by its worker)."""

from city_shared.topics import TopicSpec

CASES = "case.cases"

OWNED_TOPICS = (TopicSpec(CASES),)
