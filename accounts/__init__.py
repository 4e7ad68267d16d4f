"""Shopper accounts on Django's auth: sign-up with email and password, sign-in, password reset."""
