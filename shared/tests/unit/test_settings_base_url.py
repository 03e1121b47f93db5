"""Every service's public base URL comes from one setting, the same way."""

from __future__ import annotations

from city_shared.settings import ServiceSettings


def test_unset_it_is_the_listening_address() -> None:
    settings = ServiceSettings(service_name="demo", http_host="127.0.0.1", http_port=8005)
    assert settings.base_url == "http://127.0.0.1:8005"


def test_set_it_wins_without_a_trailing_slash() -> None:
    settings = ServiceSettings(service_name="demo",
                               public_base_url="https://tickets.musterstadt.example/")
    assert settings.base_url == "https://tickets.musterstadt.example"
