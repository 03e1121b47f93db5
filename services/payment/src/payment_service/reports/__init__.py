"""Reports: the daily reconciliation of the ledger against the providers' settlements."""
