"""Read-side views over many requests (DESIGN.md room `reports`): the live overdue and due-soon
lists, counts per agency, on-time rates, and the annual report. Imports `states` and below."""
