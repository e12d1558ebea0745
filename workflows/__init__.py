"""Prefect flows and their schedules (outbox dispatcher, sweeps, reports).

The flows arrive with issue 5; until then the outbox rows written by `states.service.advance`
wait in the `outbox` table, and nothing here is imported by the API.
"""
