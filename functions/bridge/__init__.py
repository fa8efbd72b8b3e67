"""sellsy-bridge: a serverless connector between Sellsy and field-service / revenue-analytics tools.

Layers (README "Architecture"): ``handlers`` are thin Lambda entry points; ``flows`` hold the use cases;
``domain`` holds pure rules with no I/O; ``adapters`` and ``sellsy`` talk to the outside world and
are injected into flows.
"""
