"""Routers of the field and management HTTP API, composed by ``handlers.api``.

To add routes: create a module here with ``router = Router()`` (from
``aws_lambda_powertools.event_handler.api_gateway``) and decorate your routes on it. Every module of
this package that defines ``router`` is included automatically (alphabetical order); nothing else
to edit. Raise ``bridge.api.app_errors.ApiError(status, code, message, details)`` for a JSON error
and pass ``responses=error_responses()`` so the OpenAPI document lists the error answers.
"""
