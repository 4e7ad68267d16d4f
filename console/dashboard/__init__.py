"""The console: dashboard."""
