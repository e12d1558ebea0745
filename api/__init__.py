"""The HTTP API (FastAPI): staff, legal-review and supervision routes under /api/v1."""
