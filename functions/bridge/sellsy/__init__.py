"""The one way the application talks to Sellsy (API v2).

Modules (nothing is imported here, so the webhook receiver only pays for ``webhooks``):
- ``client``: ``SellsyClient`` (httpx, auth, quota pacing, read retries, typed errors, pagination, uploads)
- ``auth``: credentials, token endpoint (client credentials, code + PKCE, refresh with rotation), providers
- ``token_cache``: one token per account shared by all Lambdas (Secrets Manager + lease in the accounts table)
- ``quota``: the per-account quota governor shared by the threads of one execution environment
- ``factory``: ``client_for_account(account_id, daily_reserve=0)``
- ``resources``: ``SellsyApi``, thin typed helpers for what the flows do
- ``models``: tolerant pydantic models (amounts as ``Decimal``)
- ``errors``: typed errors (``ValidationFailed``, ``NeedsReconnect``, ``WriteOutcomeUnknown``, ...)
- ``webhooks``: parse/verify deliveries (standard library only)
- ``search_filters``: allowed search filters per route, generated from the OpenAPI file
  (``python -m infra.sellsy_filters``)
"""
