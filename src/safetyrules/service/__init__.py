"""The decision service: a versioned JSON API over a loaded policy (`app.py`, needs the `service` extra:
starlette and uvicorn), append-only hash-chained decision records (`records.py`, the standard library's
sqlite3; PostgreSQL through psycopg when installed) and policy bundles (`bundle.py`). See docs/service.md.

Nothing here is imported by `import safetyrules`; `records` and `bundle` need nothing beyond the core
dependencies, so `safetyrules bundle`, `replay` and `audit` work without the `service` extra.
"""
