"""Settings of the payment service (environment prefix ``CITY_``)."""

from city_shared.settings import ServiceSettings


class PaymentSettings(ServiceSettings):
    """The payment service's settings; its API listens on port 8003 by default."""

    service_name: str = "payment"
    http_port: int = 8003
