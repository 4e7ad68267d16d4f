"""The console: holds."""
