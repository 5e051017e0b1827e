"""Exceptions shared by stages."""


class RejectedInput(Exception):
    """An input cannot be processed; the message is the reason shown to the user."""


class StoreError(Exception):
    """The store cannot be opened or used (bad path, newer schema, corrupt file)."""
