"""The pure dialog: the engine, one turn's work, business hours. No I/O; imports flows and the bottom only."""
