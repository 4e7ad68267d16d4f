"""Cross-app API plumbing that no domain owns: errors, strict fields, ids, paging, OpenAPI bits.

Every app may import core; core imports no app.
"""
