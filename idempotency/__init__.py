"""Exactly-once handling of requests sent with an Idempotency-Key header.

Reused by every endpoint whose retries must not act twice (reservations, carts, confirmations,
and the payment webhook). It knows nothing of the domain: it stores answers.
"""
