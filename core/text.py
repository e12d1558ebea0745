"""Text that may be stored and frozen into a letter: line breaks normalised, other control
characters refused.

Word and PDF pastes bring vertical tabs and form feeds as line breaks; those become "\\n". NUL
and the other C0/C1 controls have no place in a letter (PostgreSQL refuses NUL, python-docx
refuses them all, so a frozen letter with one could never be rendered or delivered).
"""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"\r\n|[\r\v\f\u2028\u2029\x85]")
# C0/C1 controls, and the invisible format characters that make a letter show text in another
# order than it is stored (bidi overrides) or hide characters (zero-width, BOM).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u200b-\u200f\u202a-\u202e"
                      r"\u2060-\u2069\ufeff]")


class ControlCharacter(ValueError):
    pass


def plain_text(value: str) -> str:
    """Normalise line breaks; refuse any other control character (naming it)."""
    value = _LINE_BREAKS.sub("\n", value)
    bad = _CONTROL.search(value)
    if bad:
        raise ControlCharacter(f"contains the control character U+{ord(bad.group()):04X} at "
                               f"position {bad.start()}; retype it or paste as plain text")
    return value
