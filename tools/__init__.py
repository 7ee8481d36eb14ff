"""Command-line helpers run from the repository root (``python -m tools.<name>``)."""
