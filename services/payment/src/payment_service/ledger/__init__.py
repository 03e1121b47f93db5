"""The revenue ledger: double-entry bookings per line item into the departments'
accounts, balances and invariants."""
