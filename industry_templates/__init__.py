"""Industry packs: ready-made metadata, roles, translations and sample data, installed as one unit."""
