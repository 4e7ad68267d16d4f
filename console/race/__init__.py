"""The console: race."""
