"""The storefront's forms, one module per page."""
