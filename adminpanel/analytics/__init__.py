"""The console: analytics."""
