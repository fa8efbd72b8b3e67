"""Outbound flows (F5, and F2 field → Sellsy).

Queue kinds (registered in ``flows/dispatch.py``):
- ``intervention.completed`` → ``completion.run_completion``; payload ``{"intervention_id"}``;
- ``customer.push`` → ``customer_push.run_customer_push``; payload ``{"customer_id", "change"}``.

Exactly once: every trigger action goes through the ledger (``adapters/ledger_repo.py``, field table,
``pk=A#{account}#LEDGER#{intervention}``, ``sk=ACTION#{trigger}#{index}``, states intent → done | failed)
and every created object can be found again without printing anything for the customer: an invoice by
its marker ``[sb:{intervention}:{action}]`` (``domain/triggers.marker``) in the private document custom
field ``sellsy-bridge-marker``, a file by its name ``report-{intervention}.pdf``, a comment by its text.
An action found in ``intent`` is looked up in Sellsy before any create.
``runner.ACTIVE_HOOKS`` (``before_call``, ``after_call_before_ledger``, ``after_ledger``) lets
tests crash a real worker run; ``OUTBOUND_LEASE_SECONDS`` (default 120, below the queue's visibility
timeout) is how long a claimed action stays reserved after a crash.
"""
