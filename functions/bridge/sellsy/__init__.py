"""The one way the application talks to Sellsy (API v2)."""
