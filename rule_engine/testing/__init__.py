"""Helpers for testing rules against a real database: a published site, a fake clock, local servers."""
