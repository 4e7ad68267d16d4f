"""stockd's PostgreSQL database backend (ENGINE "core.serving.postgresql"); see base.py."""
