"""Settings of the notification service (environment prefix ``CITY_``)."""

from city_shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    """The notification service's settings; its API listens on port 8004 by default."""

    service_name: str = "notification"
    http_port: int = 8004
