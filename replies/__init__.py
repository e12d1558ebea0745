"""Letters (答复书/告知书): templates for every notice and decision, rendering, freezing what was sent.

Rooms: may import `states` (and `audit` through it), never `workflows` or `api`.
Public surface: `service` (issue letters with an event, drafts, previews, render the files),
`catalog` (which letters exist and what staff must write), `remedy` (the remedy sentence).
"""
