"""The form engine of the case service: JSON Schema 2020-12 form definitions with
presentation hints, draft and submit validation with localized errors, merge-patched drafts
and prefill from verified identity. Pure library: no I/O, no database, no HTTP."""

from .definition import (
    FormField,
    InvalidFormSchema,
    check_form_schema,
    form_fields,
)
from .messages import Locale
from .prefill import Prefilled, VerifiedAttribute, prefill
from .validation import FieldError, FormInvalid, merge_patch, require_valid, validate_form

__all__ = [
    "FieldError",
    "FormField",
    "FormInvalid",
    "InvalidFormSchema",
    "Locale",
    "Prefilled",
    "VerifiedAttribute",
    "check_form_schema",
    "form_fields",
    "merge_patch",
    "prefill",
    "require_valid",
    "validate_form",
]
