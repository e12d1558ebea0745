"""The small shared floor every room may import: settings, the database engine, logging, the CLI."""
