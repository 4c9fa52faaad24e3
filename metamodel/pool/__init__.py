"""The lead pool (公海): unowned records other users see with contact fields masked until one claims them.

``config`` reads and checks an entity's ``pool`` settings, ``view`` masks and guards what pool users
see, ``service`` claims and releases records through the record runtime, ``sweep`` returns records
without follow-up to the pool in one set-based statement. Nothing here is registered on import:
``install_pool`` (in ``hooks``) is called from the one start-up place.
"""
