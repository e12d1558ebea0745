"""Who acts and for whom (DESIGN.md room `access`): agencies and their units, users and roles,
password hashing, API tokens, web sessions, and the role × route policy. Imports only `audit`
and `core`."""
