"""What every REST endpoint shares: errors, idempotency, correlation, pagination, auth."""
