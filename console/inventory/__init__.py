"""The console: inventory."""
