"""Work that runs beside the request handlers: delivering the outbox (and, later, sweeps)."""
