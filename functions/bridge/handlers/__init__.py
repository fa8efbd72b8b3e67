"""Thin Lambda entry points: parse the event, call one flow, shape the answer."""
