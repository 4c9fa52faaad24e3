"""Encryption at rest of sensitive fields: the keyring, sealed columns, search hashes and key rotation."""
