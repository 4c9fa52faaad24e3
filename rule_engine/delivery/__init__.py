"""Delivery of the outbox after commit: signed webhooks and e-mail, retried with backoff, logged per attempt."""
