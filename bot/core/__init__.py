"""The bottom layer: message types, errors, the clock, text helpers and metrics. Imports nothing of the project."""
