"""The reservation REST API, one module per capability; views are thin callers of services."""
