"""`python -m cli …` runs the same command line as `gongkai …`."""

from cli.main import app

app()
