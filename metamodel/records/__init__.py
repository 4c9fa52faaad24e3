"""The record runtime: the one path by which pages, API, imports and rules read and write records."""
