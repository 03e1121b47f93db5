"""Refunds: requested under a guard on what is still refundable, paid back by the
provider, booked and announced."""
