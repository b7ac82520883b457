"""Checkout: VTEX's Payment Provider Protocol, so that a VTEX store takes purchases on credit
through this server (docs/vtex-checkout.md)."""
