"""The bundled ``birthday`` plugin: ``age(date)`` and ``days_until_birthday(date)`` for expressions."""
