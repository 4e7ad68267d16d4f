from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """What other systems use: API keys, the stock API, and (later) outbound events."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "integrations"
