"""Settings of the case service (environment prefix ``CITY_``)."""

from city_shared.settings import ServiceSettings


class CaseSettings(ServiceSettings):
    """The case service's settings; its API listens on port 8002 by default."""

    service_name: str = "case"
    http_port: int = 8002
