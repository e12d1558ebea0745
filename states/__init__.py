"""What a request is and how it may move: tables, the machine, codes, calendar, clock, advance()."""
