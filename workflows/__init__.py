"""Prefect flows and their schedules (outbox dispatcher, sweeps, reports), and the plain functions they call.

`sweeps.sweep_lapses` is the business logic of `sweep_deadlines`; the Prefect flows and their
schedules arrive with issue 5. Nothing here is imported by the API.
"""
