"""The application layer: one turn in one transaction, staff casework, uploads, notices."""
