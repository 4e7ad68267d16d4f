"""The staff console at /admin/ and its JSON API at the original's /api/admin/* paths.

One package per capability (auth, dashboard, stock, inventory, holds, events, race,
analytics), each with its views, its JSON API and its urls; every change goes through the
same services as the shopper-facing API.
"""
