"""Serving plumbing: the ASGI and WSGI entry points' helpers, middleware, the database
backend and replicas, request ids, logs and metrics. The domain-neutral API pieces (errors,
fields, ids, paging, links, error handlers) stay in core/."""
