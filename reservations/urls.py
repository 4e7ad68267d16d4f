from django.urls import path

from reservations.apis.carts import CartConfirmApi, CartReleaseApi, ReservationBatchApi
from reservations.apis.cron import CronExpireApi
from reservations.apis.holds import (
    ReservationCollectionApi,
    ReservationConfirmApi,
    ReservationDetailApi,
    ReservationExtendApi,
    ReservationReleaseApi,
)
from reservations.apis.waitlist import WaitlistEntryApi, WaitlistJoinApi

urlpatterns = [
    path("api/reservations", ReservationCollectionApi.as_view(), name="api-reservations"),
    path("api/reservations/batch", ReservationBatchApi.as_view(), name="api-reservations-batch"),
    path(
        "api/reservations/<str:reservation_id>",
        ReservationDetailApi.as_view(),
        name="api-reservation",
    ),
    path(
        "api/reservations/<str:reservation_id>/confirm",
        ReservationConfirmApi.as_view(),
        name="api-reservation-confirm",
    ),
    path(
        "api/reservations/<str:reservation_id>/release",
        ReservationReleaseApi.as_view(),
        name="api-reservation-release",
    ),
    path(
        "api/reservations/<str:reservation_id>/extend",
        ReservationExtendApi.as_view(),
        name="api-reservation-extend",
    ),
    path("api/carts/<str:cart_id>/confirm", CartConfirmApi.as_view(), name="api-cart-confirm"),
    path("api/carts/<str:cart_id>/release", CartReleaseApi.as_view(), name="api-cart-release"),
    path("api/waitlist", WaitlistJoinApi.as_view(), name="api-waitlist"),
    path("api/waitlist/<str:entry_id>", WaitlistEntryApi.as_view(), name="api-waitlist-entry"),
    path("api/cron/expire", CronExpireApi.as_view(), name="api-cron-expire"),
]
