from django.urls import path

from payments.api import PaymentWebhookApi

urlpatterns = [
    path("api/payments/webhook", PaymentWebhookApi.as_view(), name="api-payments-webhook"),
]
