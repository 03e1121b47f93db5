"""Settings of the ticketing service (environment prefix ``CITY_``)."""

from city_shared.settings import ServiceSettings


class TicketingSettings(ServiceSettings):
    """The ticketing service's settings; its API listens on port 8005 by default."""

    service_name: str = "ticketing"
    http_port: int = 8005
