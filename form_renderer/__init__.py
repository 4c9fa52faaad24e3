"""Forms, lists and their marshmallow schemas, generated from metadata."""
