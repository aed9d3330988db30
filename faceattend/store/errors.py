"""The one exception the store raises for anything a user can act on."""


class StoreError(RuntimeError):
    """A problem with the database a user can act on; the message says what to do."""
