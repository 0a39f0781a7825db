from django.urls import path

from compliance import apis

urlpatterns = [
    path("alerts/", apis.AlertsApi.as_view(), name="alerts"),
    path("alerts/<uuid:alert_id>/resolve/", apis.ResolveAlertApi.as_view(), name="alert-resolve"),
]
