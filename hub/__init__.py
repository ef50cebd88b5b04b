"""Control plane: settings, metadata DB, catalog, ledger, identity and the ``trustlab`` CLI."""

__version__ = "0.1.0"
