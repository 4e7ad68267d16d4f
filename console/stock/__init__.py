"""The console: stock."""
