"""Outbound flows (DESIGN.md F5, F2 field → Sellsy): completed interventions → Sellsy, customer pushes."""
