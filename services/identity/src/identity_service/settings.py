"""Settings of the identity service (environment prefix ``CITY_``)."""

from city_shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    """Identity's settings; it serves the JWKS the others verify against on port 8001."""

    service_name: str = "identity"
    http_port: int = 8001
