"""Encryption keys for test apps (every database needs them configured once a field is sensitive)."""

from __future__ import annotations

# Fixed test keys: never used outside the test suite.
TEST_ENCRYPTION = {
    "CRM_ENCRYPTION_KEYS": "test1:h3SgkXwEqRy6Y054z6idgtUWKOTo/+nfqP7aYQt8eb0=",
    "CRM_SEARCH_HASH_KEY": "4OBaIXQpr2qgxLuhJAWuenpeN9NDVLmTRr+9s5kb6Ss=",
}
