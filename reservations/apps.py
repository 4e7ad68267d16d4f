from django.apps import AppConfig


class ReservationsConfig(AppConfig):
    name = "reservations"

    def ready(self) -> None:
        from inventory.signals import stock_released
        from reservations.signals import promote_waitlist_after_commit

        stock_released.connect(
            promote_waitlist_after_commit, dispatch_uid="reservations.promote_waitlist"
        )
