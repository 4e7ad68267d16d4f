"""The console: events."""
