from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The staff console at /admin/ (the original's staff UI and API paths).

    Its app label stays "adminpanel", the package's name before issue 24: the label names
    its tables, migrations and permissions in every database made since, and renaming a label
    is no migration Django can make.
    """

    name = "console"
    label = "adminpanel"
