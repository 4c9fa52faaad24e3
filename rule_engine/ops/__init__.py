"""What operators look at: the webhook and e-mail delivery log (with retry now) and the scheduler's state."""
