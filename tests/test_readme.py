"""The README's diagram is the machine's own export, so it cannot drift from the code."""

from pathlib import Path

from statemachine.contrib.diagram.formatter import formatter

from states.machine import RequestMachine


def test_readme_shows_the_current_machine_diagram():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert formatter.render(RequestMachine, "mermaid").strip() in readme
