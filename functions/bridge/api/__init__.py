"""Routers of the field and management HTTP API, composed by ``handlers.api``."""
