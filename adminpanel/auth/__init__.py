"""The console: auth."""
