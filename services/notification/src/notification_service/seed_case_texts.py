"""The demo city's templates (German and English) and rules for case management's citizen-facing
events on ``case.cases``; data only, seeded with :mod:`notification_service.seed_texts`'s.

The params are the event's data (case's ``CaseEventData`` and the type's own fields). A
decision's ``documents`` are attached to the e-mail by the sender (see
:mod:`notification_service.channels.documents`); the inbox message links each document at the
case service (``case_url``/documents/``document_id``, read with the citizen's own login, so
the link does not expire), else at its signed ``download_url`` (valid for a limited time).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["CASE_RULES", "CASE_TEMPLATES"]

_OPTIONAL: Final = ("service_name", "case_url", "public_note", "outcome", "documents")


def _variables(*names: str) -> list[Any]:
    """``names`` as variables; the nullable fields of case's events are optional."""
    return [{"name": n, "required": False} if n in _OPTIONAL else n for n in names]


def _template(key: str, description: str, variables: list[Any],
              de: tuple[str, str, str, str, str], en: tuple[str, str, str, str, str]
              ) -> dict[str, Any]:
    """A template from (subject, text, html, inbox title, inbox body) per language."""
    content = {locale: {"email": {"subject": s, "text": t, "html": h},
                        "inbox": {"title": it, "body": ib}}
               for locale, (s, t, h, it, ib) in (("de", de), ("en", en))}
    return {"key": key, "description": description, "variables": variables,
            "content": content}


_APP_DE = "Ihren Antrag{% if service_name %} „{{ service_name }}“{% endif %}"
_APP_EN = "your application{% if service_name %} \"{{ service_name }}\"{% endif %}"
_APP_DE_DAT = "Ihrem Antrag{% if service_name %} „{{ service_name }}“{% endif %}"
_FEE = "{{ fee_amount | money(currency) }}"
_BYE_DE = "Ihre Stadtverwaltung\n"
_BYE_EN = "Your city administration\n"
_NUMBER_DE = "Vorgangsnummer {{ number }}"
_NUMBER_EN = "case number {{ number }}"

_SUBMITTED = _template(
    "case-submitted", "Receipt of an application (with the fee due, if any)",
    _variables("number", "status", "fee_amount", "currency", "service_name"),
    ("Eingangsbestätigung: " + _NUMBER_DE,
     "Guten Tag,\n\nwir haben " + _APP_DE + " erhalten. Ihre Vorgangsnummer lautet "
     "{{ number }}.\n\n"
     "{% if status == 'awaiting_payment' %}Für den Antrag ist eine Gebühr von " + _FEE
     + " fällig. Sie erhalten gleich eine Nachricht mit dem Link zur Zahlung; wir bearbeiten "
     "Ihren Antrag, sobald sie eingegangen ist.\n\n{% endif %}"
     "Bitte geben Sie die Vorgangsnummer an, wenn Sie sich an uns wenden.\n\n" + _BYE_DE,
     "<p>Guten Tag,</p><p>wir haben " + _APP_DE + " erhalten. Ihre Vorgangsnummer lautet "
     "<b>{{ number }}</b>.</p>{% if status == 'awaiting_payment' %}<p>Für den Antrag ist eine "
     "Gebühr von "
     + _FEE + " fällig. Sie erhalten gleich eine Nachricht mit dem Link zur Zahlung.</p>"
     "{% endif %}<p>Ihre Stadtverwaltung</p>",
     "Antrag eingegangen: {{ number }}",
     "Wir haben " + _APP_DE + " erhalten (" + _NUMBER_DE + ")."
     "{% if status == 'awaiting_payment' %} Fällige Gebühr: " + _FEE + "; der Link zur "
     "Zahlung folgt.{% endif %}"),
    ("Receipt: " + _NUMBER_EN,
     "Hello,\n\nwe have received " + _APP_EN + ". Your case number is {{ number }}.\n\n"
     "{% if status == 'awaiting_payment' %}A fee of " + _FEE + " is due for it. You will "
     "receive a message with the payment link shortly; we process your application once the "
     "fee is paid.\n\n{% endif %}"
     "Please quote the case number when you contact us.\n\n" + _BYE_EN,
     "<p>Hello,</p><p>we have received " + _APP_EN + ". Your case number is "
     "<b>{{ number }}</b>.</p>"
     "{% if status == 'awaiting_payment' %}<p>A fee of " + _FEE + " is due for it. You will "
     "receive a message with the payment link shortly.</p>{% endif %}"
     "<p>Your city administration</p>",
     "Application received: {{ number }}",
     "We have received " + _APP_EN + " (" + _NUMBER_EN + ")."
     "{% if status == 'awaiting_payment' %} Fee due: " + _FEE + "; the payment link "
     "follows.{% endif %}"),
)

_PAYMENT_DUE = _template(
    "case-payment-due", "The fee of an application is due (pay link)",
    _variables("number", "fee_amount", "currency", "pay_url", "service_name"),
    ("Bitte bezahlen Sie die Gebühr: " + _NUMBER_DE,
     "Guten Tag,\n\nfür " + _APP_DE + " (" + _NUMBER_DE + ") ist eine Gebühr von " + _FEE
     + " fällig. Bitte bezahlen Sie sie hier:\n\n{{ pay_url }}\n\nWir bearbeiten Ihren "
     "Antrag, sobald die Zahlung eingegangen ist.\n\n" + _BYE_DE,
     "<p>Guten Tag,</p><p>für " + _APP_DE + " (" + _NUMBER_DE + ") ist eine Gebühr von "
     + _FEE + " fällig.</p><p><a href=\"{{ pay_url }}\">Jetzt bezahlen</a></p>"
     "<p>Ihre Stadtverwaltung</p>",
     "Gebühr fällig: {{ number }}",
     "Für " + _APP_DE + " ist eine Gebühr von " + _FEE + " fällig. Bezahlen: {{ pay_url }}"),
    ("Please pay the fee: " + _NUMBER_EN,
     "Hello,\n\na fee of " + _FEE + " is due for " + _APP_EN + " (" + _NUMBER_EN + "). "
     "Please pay it here:\n\n{{ pay_url }}\n\nWe process your application once the payment "
     "has arrived.\n\n" + _BYE_EN,
     "<p>Hello,</p><p>a fee of " + _FEE + " is due for " + _APP_EN + " (" + _NUMBER_EN
     + ").</p><p><a href=\"{{ pay_url }}\">Pay now</a></p><p>Your city administration</p>",
     "Fee due: {{ number }}",
     "A fee of " + _FEE + " is due for " + _APP_EN + ". Pay: {{ pay_url }}"),
)

_FAILED_DE = ("{% if payment_status == 'expired' %}wurde nicht rechtzeitig abgeschlossen"
              "{% elif payment_status == 'cancelled' %}wurde abgebrochen"
              "{% else %}ist fehlgeschlagen{% endif %}")
_FAILED_EN = ("{% if payment_status == 'expired' %}was not completed in time"
              "{% elif payment_status == 'cancelled' %}was cancelled"
              "{% else %}failed{% endif %}")
_PAYMENT_FAILED = _template(
    "case-payment-failed", "The payment of an application's fee failed; pay again",
    _variables("number", "fee_amount", "currency", "payment_status", "service_name"),
    ("Zahlung nicht abgeschlossen: " + _NUMBER_DE,
     "Guten Tag,\n\ndie Zahlung der Gebühr von " + _FEE + " für " + _APP_DE + " ("
     + _NUMBER_DE + ") " + _FAILED_DE + ". Ihr Antrag bleibt erhalten: Sie können erneut "
     "bezahlen, ohne etwas neu einzugeben.\n\n" + _BYE_DE,
     "<p>Guten Tag,</p><p>die Zahlung der Gebühr von " + _FEE + " für " + _APP_DE + " ("
     + _NUMBER_DE + ") " + _FAILED_DE + ".</p><p>Ihr Antrag bleibt erhalten: Sie können "
     "erneut bezahlen, ohne etwas neu einzugeben.</p><p>Ihre Stadtverwaltung</p>",
     "Zahlung nicht abgeschlossen: {{ number }}",
     "Die Zahlung von " + _FEE + " " + _FAILED_DE + ". Sie können erneut bezahlen."),
    ("Payment not completed: " + _NUMBER_EN,
     "Hello,\n\nthe payment of the fee of " + _FEE + " for " + _APP_EN + " (" + _NUMBER_EN
     + ") " + _FAILED_EN + ". Your application is kept: you can pay again without entering "
     "anything again.\n\n" + _BYE_EN,
     "<p>Hello,</p><p>the payment of the fee of " + _FEE + " for " + _APP_EN + " ("
     + _NUMBER_EN + ") " + _FAILED_EN + ".</p><p>Your application is kept: you can pay again "
     "without entering anything again.</p><p>Your city administration</p>",
     "Payment not completed: {{ number }}",
     "The payment of " + _FEE + " " + _FAILED_EN + ". You can pay again."),
)

_INFORMATION_REQUESTED = _template(
    "case-information-requested", "Staff ask the applicant for information (with deadline)",
    _variables("number", "deadline", "public_note", "service_name"),
    ("Wir benötigen weitere Angaben: " + _NUMBER_DE,
     "Guten Tag,\n\nfür " + _APP_DE + " (" + _NUMBER_DE + ") benötigen wir weitere "
     "Angaben.\n\n{% if public_note %}{{ public_note }}\n\n{% endif %}Bitte antworten Sie "
     "bis zum {{ deadline | until }}.\n\n" + _BYE_DE,
     "<p>Guten Tag,</p><p>für " + _APP_DE + " (" + _NUMBER_DE + ") benötigen wir weitere "
     "Angaben.</p>{% if public_note %}<blockquote>{{ public_note }}</blockquote>{% endif %}"
     "<p>Bitte antworten Sie bis zum <b>{{ deadline | until }}</b>.</p>"
     "<p>Ihre Stadtverwaltung</p>",
     "Weitere Angaben benötigt: {{ number }}",
     "{% if public_note %}{{ public_note }}\n\n{% endif %}Bitte antworten Sie bis zum "
     "{{ deadline | until }}."),
    ("We need more information: " + _NUMBER_EN,
     "Hello,\n\nwe need more information for " + _APP_EN + " (" + _NUMBER_EN + ").\n\n"
     "{% if public_note %}{{ public_note }}\n\n{% endif %}Please answer by "
     "{{ deadline | until }}.\n\n" + _BYE_EN,
     "<p>Hello,</p><p>we need more information for " + _APP_EN + " (" + _NUMBER_EN
     + ").</p>{% if public_note %}<blockquote>{{ public_note }}</blockquote>{% endif %}"
     "<p>Please answer by <b>{{ deadline | until }}</b>.</p><p>Your city administration</p>",
     "More information needed: {{ number }}",
     "{% if public_note %}{{ public_note }}\n\n{% endif %}Please answer by "
     "{{ deadline | until }}."),
)

_INFORMATION_REMINDER = _template(
    "case-information-reminder", "Reminder: the requested information is due soon",
    _variables("number", "deadline", "service_name"),
    ("Erinnerung: Angaben bis {{ deadline | until }}",
     "Guten Tag,\n\nwir erinnern Sie an die angeforderten Angaben zu " + _APP_DE_DAT + " ("
     + _NUMBER_DE + "). Bitte antworten Sie bis zum {{ deadline | until }}.\n\n" + _BYE_DE,
     "<p>Guten Tag,</p><p>wir erinnern Sie an die angeforderten Angaben zu " + _APP_DE_DAT + " ("
     + _NUMBER_DE + ").</p><p>Bitte antworten Sie bis zum <b>{{ deadline | until }}</b>.</p>"
     "<p>Ihre Stadtverwaltung</p>",
     "Erinnerung: {{ number }}",
     "Bitte reichen Sie die angeforderten Angaben bis zum {{ deadline | until }} ein."),
    ("Reminder: information due by {{ deadline | until }}",
     "Hello,\n\nthis is a reminder of the information we asked for about " + _APP_EN + " ("
     + _NUMBER_EN + "). Please answer by {{ deadline | until }}.\n\n" + _BYE_EN,
     "<p>Hello,</p><p>this is a reminder of the information we asked for about " + _APP_EN
     + " (" + _NUMBER_EN + ").</p><p>Please answer by <b>{{ deadline | until }}</b>.</p>"
     "<p>Your city administration</p>",
     "Reminder: {{ number }}",
     "Please send the information we asked for by {{ deadline | until }}."),
)

_LABELS_DE = ("{% set labels = {'permit_number': 'Nummer der Genehmigung', "
              "'valid_from': 'Gültig ab', 'valid_until': 'Gültig bis'} %}")
_LABELS_EN = ("{% set labels = {'permit_number': 'Permit number', 'valid_from': 'Valid from', "
              "'valid_until': 'Valid until'} %}")
_OUTCOME = ("{% if outcome %}{% for k, v in outcome.items() %}"
            "- {{ labels[k] if k in labels else k }}: {{ v }}\n{% endfor %}\n\n{% endif %}")
_OUTCOME_HTML = ("{% if outcome %}<ul>{% for k, v in outcome.items() %}"
                 "<li>{{ labels[k] if k in labels else k }}: {{ v }}</li>{% endfor %}</ul>"
                 "{% endif %}")
_DOC_LINK = ("{% if case_url %}{{ case_url }}/documents/{{ d.document_id }}"
             "{% else %}{{ d.download_url }}{% endif %}")
_DECIDED_DE = ("wir haben " + _APP_DE + " (" + _NUMBER_DE + ") {% if decision == 'approved' %}"
               "bewilligt{% else %}leider abgelehnt{% endif %}.")
_DECIDED_EN = ("{% if decision == 'approved' %}we have approved{% else %}we regret that we "
               "have rejected{% endif %} " + _APP_EN + " (" + _NUMBER_EN + ").")
_NOTE_DE = ("{% if decision == 'approved' %}Hinweis{% else %}Begründung{% endif %}: "
            "{{ public_note }}")
_NOTE_EN = "{% if decision == 'approved' %}Note{% else %}Reason{% endif %}: {{ public_note }}"
_DECIDED = _template(
    "case-decided", "The decision on an application (the Bescheid attached)",
    _variables("number", "decision", "public_note", "outcome", "documents", "case_url",
               "service_name"),
    ("{% if decision == 'approved' %}Ihr Antrag wurde bewilligt{% else %}Ihr Antrag wurde "
     "abgelehnt{% endif %}: " + _NUMBER_DE,
     _LABELS_DE + "Guten Tag,\n\n" + _DECIDED_DE + "\n\n{% if public_note %}" + _NOTE_DE
     + "\n\n{% endif %}" + _OUTCOME + "{% if documents %}Den Bescheid finden Sie im Anhang."
     "\n\n{% endif %}" + _BYE_DE,
     _LABELS_DE + "<p>Guten Tag,</p><p>" + _DECIDED_DE + "</p>{% if public_note %}<p>"
     + _NOTE_DE + "</p>{% endif %}" + _OUTCOME_HTML + "{% if documents %}<p>Den Bescheid "
     "finden Sie im Anhang.</p>{% endif %}<p>Ihre Stadtverwaltung</p>",
     "{% if decision == 'approved' %}Antrag bewilligt{% else %}Antrag abgelehnt{% endif %}: "
     "{{ number }}",
     _LABELS_DE + "Wir haben " + _APP_DE + " {% if decision == 'approved' %}bewilligt"
     "{% else %}leider abgelehnt{% endif %}.\n\n"
     "{% if public_note %}" + _NOTE_DE + "\n\n{% endif %}" + _OUTCOME + "{% if documents %}"
     "{% for d in documents %}Bescheid ({{ d.filename }}): " + _DOC_LINK + "\n{% endfor %}"
     "{% endif %}"),
    ("{% if decision == 'approved' %}Your application was approved{% else %}Your application "
     "was rejected{% endif %}: " + _NUMBER_EN,
     _LABELS_EN + "Hello,\n\n" + _DECIDED_EN + "\n\n{% if public_note %}" + _NOTE_EN
     + "\n\n{% endif %}" + _OUTCOME + "{% if documents %}The decision document is attached."
     "\n\n{% endif %}" + _BYE_EN,
     _LABELS_EN + "<p>Hello,</p><p>" + _DECIDED_EN + "</p>{% if public_note %}<p>" + _NOTE_EN
     + "</p>{% endif %}" + _OUTCOME_HTML + "{% if documents %}<p>The decision document is "
     "attached.</p>{% endif %}<p>Your city administration</p>",
     "{% if decision == 'approved' %}Application approved{% else %}Application rejected"
     "{% endif %}: {{ number }}",
     _LABELS_EN + "{% if decision == 'approved' %}We have approved{% else %}We regret that we "
     "have rejected{% endif %} " + _APP_EN + ".\n\n"
     "{% if public_note %}" + _NOTE_EN + "\n\n{% endif %}" + _OUTCOME + "{% if documents %}"
     "{% for d in documents %}Decision document ({{ d.filename }}): " + _DOC_LINK + "\n"
     "{% endfor %}{% endif %}"),
)

_WITHDRAWN = _template(
    "case-withdrawn", "The applicant withdrew an application (refund if paid)",
    _variables("number", "refund_amount", "currency", "service_name"),
    ("Antrag zurückgezogen: " + _NUMBER_DE,
     "Guten Tag,\n\nSie haben " + _APP_DE + " (" + _NUMBER_DE + ") zurückgezogen; wir "
     "bearbeiten ihn nicht weiter.\n\n{% if refund_amount > 0 %}Die bezahlte Gebühr von "
     "{{ refund_amount | money(currency) }} erstatten wir auf Ihr Zahlungsmittel.\n\n"
     "{% endif %}" + _BYE_DE,
     "<p>Guten Tag,</p><p>Sie haben " + _APP_DE + " (" + _NUMBER_DE + ") zurückgezogen; wir "
     "bearbeiten ihn nicht weiter.</p>{% if refund_amount > 0 %}<p>Die bezahlte Gebühr von "
     "{{ refund_amount | money(currency) }} erstatten wir auf Ihr Zahlungsmittel.</p>"
     "{% endif %}<p>Ihre Stadtverwaltung</p>",
     "Antrag zurückgezogen: {{ number }}",
     "Sie haben " + _APP_DE + " zurückgezogen.{% if refund_amount > 0 %} Wir erstatten "
     "{{ refund_amount | money(currency) }}.{% endif %}"),
    ("Application withdrawn: " + _NUMBER_EN,
     "Hello,\n\nyou have withdrawn " + _APP_EN + " (" + _NUMBER_EN + "); we will not process "
     "it further.\n\n{% if refund_amount > 0 %}We refund the fee of "
     "{{ refund_amount | money(currency) }} to your means of payment.\n\n{% endif %}"
     + _BYE_EN,
     "<p>Hello,</p><p>you have withdrawn " + _APP_EN + " (" + _NUMBER_EN + "); we will not "
     "process it further.</p>{% if refund_amount > 0 %}<p>We refund the fee of "
     "{{ refund_amount | money(currency) }} to your means of payment.</p>{% endif %}"
     "<p>Your city administration</p>",
     "Application withdrawn: {{ number }}",
     "You have withdrawn " + _APP_EN + ".{% if refund_amount > 0 %} We refund "
     "{{ refund_amount | money(currency) }}.{% endif %}"),
)

CASE_TEMPLATES: Final[list[dict[str, Any]]] = [
    _SUBMITTED, _PAYMENT_DUE, _PAYMENT_FAILED, _INFORMATION_REQUESTED, _INFORMATION_REMINDER,
    _DECIDED, _WITHDRAWN,
]

#: (event type, template key, channels, legally required); tenant-wide rules.
CASE_RULES: Final[list[tuple[str, str, list[str], bool]]] = [
    ("city.case.case.submitted.v1", "case-submitted", ["email", "inbox"], False),
    ("city.case.case.payment_due.v1", "case-payment-due", ["email", "inbox"], False),
    ("city.case.case.payment_failed.v1", "case-payment-failed", ["email", "inbox"], False),
    ("city.case.case.information_requested.v1", "case-information-requested",
     ["email", "inbox"], False),
    ("city.case.case.information_reminder.v1", "case-information-reminder",
     ["email", "inbox"], False),
    ("city.case.case.decided.v1", "case-decided", ["email", "inbox"], False),
    ("city.case.case.withdrawn.v1", "case-withdrawn", ["email", "inbox"], False),
]
