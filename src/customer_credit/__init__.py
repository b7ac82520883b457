"""Customer Credit: a self-hosted service that speaks the VTEX Customer Credit API."""

__version__ = "0.1.0"
