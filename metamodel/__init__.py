"""Metadata model: documents, field-type registry, schema sync, versions and the record runtime.

This package knows nothing of rules, forms or the web.
"""
