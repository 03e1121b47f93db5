"""Intake shaped like FIT-Connect's Submission API: outside online services announce, upload and
submit encrypted applications, which become cases; transport states are kept apart from the
case's processing states."""
