"""The demo city's notification templates (German and English) and the rules that send them;
data only, used by :mod:`notification_service.seed`. Case management's are in
:mod:`notification_service.seed_case_texts` (their events carry ``recipient`` only when the case
has an account, so they are not among the rules whose events must carry one)."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["RULES", "TEMPLATES"]

_ORDER_FIELDS: Final = ("order_id", "tenant", "account_id", "status", "total", "currency",
                         "reason", "refunded_amount", "tickets", "recipient")


def _variables(*required: str) -> list[Any]:
    """The order event's fields as variables: ``required`` ones must be there, the rest may."""
    return [name if name in required else {"name": name, "required": False}
            for name in _ORDER_FIELDS]


_TICKET_LINES_DE = (
    "{% for t in tickets %}\n"
    "- {{ t.offering_name }}, {{ t.ticket_type_name }}"
    "{% if t.starts_at %}, {{ t.starts_at | datetime }}{% endif %}: Ticket-Code {{ t.code }}\n"
    "{% endfor %}"
)
_TICKET_LINES_EN = (
    "{% for t in tickets %}\n"
    "- {{ t.offering_name }}, {{ t.ticket_type_name }}"
    "{% if t.starts_at %}, {{ t.starts_at | datetime }}{% endif %}: ticket code {{ t.code }}\n"
    "{% endfor %}"
)
_REASONS_DE = ("{% if reason == 'payment_failed' %}die Zahlung ist fehlgeschlagen"
               "{% elif reason == 'payment_expired' %}die Zahlung wurde nicht rechtzeitig "
               "abgeschlossen{% else %}sie wurde storniert{% endif %}")
_REASONS_EN = ("{% if reason == 'payment_failed' %}the payment failed"
               "{% elif reason == 'payment_expired' %}the payment was not completed in time"
               "{% else %}it was cancelled{% endif %}")

TEMPLATES: Final[list[dict[str, Any]]] = [
    {
        "key": "ticketing-order-confirmed",
        "description": "Order confirmation with the tickets (QR codes attached)",
        "variables": _variables("order_id", "total", "currency", "tickets"),
        "content": {
            "de": {
                "email": {
                    "subject": "Ihre Tickets",
                    "text": "Guten Tag,\n\nvielen Dank für Ihre Bestellung. Ihre Tickets:\n\n"
                            + _TICKET_LINES_DE
                            + "\nGesamtbetrag: {{ total | money(currency) }}\n\n"
                            "Die QR-Codes Ihrer Tickets finden Sie im Anhang. Zeigen Sie sie "
                            "am Eingang vor.\n\nIhre Stadtverwaltung\n",
                    "html": "<p>Guten Tag,</p><p>vielen Dank für Ihre Bestellung. Ihre "
                            "Tickets:</p><ul>{% for t in tickets %}<li>{{ t.offering_name }}, "
                            "{{ t.ticket_type_name }}{% if t.starts_at %}, "
                            "{{ t.starts_at | datetime }}{% endif %}: <b>{{ t.code }}</b><br>"
                            "<img src=\"cid:qr-{{ t.code }}\" alt=\"QR-Code {{ t.code }}\">"
                            "</li>{% endfor %}</ul><p>Gesamtbetrag: "
                            "{{ total | money(currency) }}</p>",
                },
                "inbox": {
                    "title": "Ihre Tickets",
                    "body": "Ihre Bestellung ist bestätigt. Ihre Tickets:\n"
                            + _TICKET_LINES_DE
                            + "Gesamtbetrag: {{ total | money(currency) }}\n",
                },
            },
            "en": {
                "email": {
                    "subject": "Your tickets",
                    "text": "Hello,\n\nthank you for your order. Your tickets:\n\n"
                            + _TICKET_LINES_EN
                            + "\nTotal: {{ total | money(currency) }}\n\n"
                            "The QR codes of your tickets are attached. Show them at the "
                            "entrance.\n\nYour city administration\n",
                },
                "inbox": {
                    "title": "Your tickets",
                    "body": "Your order is confirmed. Your tickets:\n" + _TICKET_LINES_EN
                            + "Total: {{ total | money(currency) }}\n",
                },
            },
        },
    },
    {
        "key": "ticketing-order-cancelled",
        "description": "Order cancelled (e.g. the payment failed)",
        "variables": _variables("order_id", "total", "currency"),
        "content": {
            "de": {
                "email": {"subject": "Ihre Bestellung wurde storniert",
                          "text": "Guten Tag,\n\nIhre Bestellung über "
                                  "{{ total | money(currency) }} konnte nicht abgeschlossen "
                                  "werden: " + _REASONS_DE + ". Die reservierten Plätze sind "
                                  "wieder freigegeben.\n\nIhre Stadtverwaltung\n"},
                "inbox": {"title": "Bestellung storniert",
                          "body": "Ihre Bestellung über {{ total | money(currency) }} wurde "
                                  "storniert: " + _REASONS_DE + "."},
            },
            "en": {
                "email": {"subject": "Your order was cancelled",
                          "text": "Hello,\n\nyour order of {{ total | money(currency) }} could "
                                  "not be completed: " + _REASONS_EN + ". The reserved places "
                                  "have been released.\n\nYour city administration\n"},
                "inbox": {"title": "Order cancelled",
                          "body": "Your order of {{ total | money(currency) }} was cancelled: "
                                  + _REASONS_EN + "."},
            },
        },
    },
    {
        "key": "ticketing-order-expired",
        "description": "Order expired (not paid in time)",
        "variables": _variables("order_id", "total", "currency"),
        "content": {
            "de": {
                "email": {"subject": "Ihre Bestellung ist abgelaufen",
                          "text": "Guten Tag,\n\nIhre Bestellung über "
                                  "{{ total | money(currency) }} wurde nicht rechtzeitig bezahlt "
                                  "und ist abgelaufen. Sie können jederzeit neu bestellen.\n\n"
                                  "Ihre Stadtverwaltung\n"},
                "inbox": {"title": "Bestellung abgelaufen",
                          "body": "Ihre Bestellung über {{ total | money(currency) }} ist "
                                  "abgelaufen."},
            },
            "en": {
                "email": {"subject": "Your order has expired",
                          "text": "Hello,\n\nyour order of {{ total | money(currency) }} was "
                                  "not paid in time and has expired. You are welcome to order "
                                  "again.\n\nYour city administration\n"},
                "inbox": {"title": "Order expired",
                          "body": "Your order of {{ total | money(currency) }} has expired."},
            },
        },
    },
    {
        "key": "ticketing-refund-done",
        "description": "Refund paid back",
        "variables": _variables("order_id", "refunded_amount", "currency"),
        "content": {
            "de": {
                "email": {"subject": "Ihre Erstattung",
                          "text": "Guten Tag,\n\nwir haben Ihnen "
                                  "{{ refunded_amount | money(currency) }} erstattet. Der Betrag "
                                  "wird auf Ihr Zahlungsmittel zurückgebucht.\n\n"
                                  "Ihre Stadtverwaltung\n"},
                "inbox": {"title": "Erstattung veranlasst",
                          "body": "{{ refunded_amount | money(currency) }} wurden erstattet."},
            },
            "en": {
                "email": {"subject": "Your refund",
                          "text": "Hello,\n\nwe have refunded "
                                  "{{ refunded_amount | money(currency) }}. The amount goes back "
                                  "to your means of payment.\n\nYour city administration\n"},
                "inbox": {"title": "Refund made",
                          "body": "{{ refunded_amount | money(currency) }} were refunded."},
            },
        },
    },
    {
        "key": "account-email-verification",
        "description": "E-mail verification link (legally required)",
        "variables": ["verification_url", {"name": "given_name", "required": False}],
        "content": {
            "de": {"email": {
                "subject": "Bitte bestätigen Sie Ihre E-Mail-Adresse",
                "text": "{% if given_name %}Guten Tag {{ given_name }},{% else %}Guten Tag,"
                        "{% endif %}\n\nbitte bestätigen Sie Ihre E-Mail-Adresse über diesen "
                        "Link:\n\n{{ verification_url }}\n\nWenn Sie kein Konto angelegt "
                        "haben, ignorieren Sie diese Nachricht.\n\nIhre Stadtverwaltung\n"}},
            "en": {"email": {
                "subject": "Please confirm your e-mail address",
                "text": "{% if given_name %}Hello {{ given_name }},{% else %}Hello,{% endif %}"
                        "\n\nplease confirm your e-mail address with this link:\n\n"
                        "{{ verification_url }}\n\nIf you did not create an account, ignore "
                        "this message.\n\nYour city administration\n"}},
        },
    },
]

#: (event type, template key, channels, legally required); tenant-wide rules.
RULES: Final[list[tuple[str, str, list[str], bool]]] = [
    ("city.ticketing.order.confirmed.v1", "ticketing-order-confirmed", ["email", "inbox"], False),
    ("city.ticketing.order.cancelled.v1", "ticketing-order-cancelled", ["email", "inbox"], False),
    ("city.ticketing.order.expired.v1", "ticketing-order-expired", ["email", "inbox"], False),
    ("city.ticketing.order.refunded.v1", "ticketing-refund-done", ["email", "inbox"], False),
]
