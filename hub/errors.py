"""Errors a user can cause. The CLI prints their message (no traceback) and exits 2."""


class TrustlabError(Exception):
    """Base class: the message says what happened and what to do."""

    exit_code = 2


class ConfigError(TrustlabError):
    """A setting is missing or invalid."""


class DatabaseUnavailable(TrustlabError):
    """The metadata DB (or a registered SQL source) cannot be reached."""


class NotFound(TrustlabError):
    """A named object does not exist."""


class AlreadyExists(TrustlabError):
    """A name is taken."""


class InvalidSource(TrustlabError):
    """A data source is missing, unreadable or malformed."""


class InvalidState(TrustlabError):
    """The operation is not allowed in the object's current state."""


class LedgerIntegrityError(TrustlabError):
    """The evidence ledger failed verification."""
