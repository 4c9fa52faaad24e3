"""JSON Schema files of metadata documents (package data)."""
