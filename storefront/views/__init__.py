"""The shopper's pages, one module per screen; each view calls the same services as the API."""
