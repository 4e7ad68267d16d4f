"""The CSV import's jobs: each upload between its preview and its apply."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class StockImportJob(models.Model):
    """An uploaded stock CSV on its way from preview to apply, and how far checking got.

    It lives in the database, not in a process, because an upload, its check steps and its
    apply may each reach a different web process. console.inventory.csv_import reads it
    as an ImportJob, answers one older than KEEP_SECONDS as missing, and deletes it when the
    job is applied (or refused) and, once expired, when a later upload starts.
    """

    token = models.CharField(
        max_length=43, unique=True, help_text="The unguessable id in the import's URLs."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The staff member who uploaded the file: the only one who sees or applies it.",
    )
    filename = models.CharField(max_length=255)
    lines = models.JSONField(help_text="Each ImportLine as a dict, in file order.")
    checked = models.PositiveIntegerField(default=0, help_text="Lines checked so far.")
    seen = models.JSONField(
        default=dict, help_text='"product id|warehouse id" -> the first line number with it.'
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"Import {self.filename} ({self.checked}/{len(self.lines)} lines checked)"
