from django.urls import path

from . import languages
from .views import alerts, attention, bulk, entries, health, jobs, pages, webhooks

urlpatterns = [
    path("", pages.home, name="home"),
    path("lookup/", pages.lookup, name="lookup"),
    path("bulk/", bulk.bulk, name="bulk"),
    path("attention/", attention.attention, name="attention"),
    path("attention/refresh/", attention.attention_refresh, name="attention_refresh"),
    path("jobs/<str:job_id>/", jobs.job_detail, name="job_detail"),
    path("jobs/<str:job_id>/refresh/", jobs.job_refresh, name="job_refresh"),
    path("jobs/<str:job_id>/watch/", alerts.job_watch, name="job_watch"),
    path("alerts/", alerts.alerts_page, name="alerts"),
    path("alerts/add/", alerts.alert_rule_add, name="alert_rule_add"),
    path("alerts/<int:rule_id>/remove/", alerts.alert_rule_remove, name="alert_rule_remove"),
    path("alerts/<int:rule_id>/test/", alerts.alert_rule_test, name="alert_rule_test"),
    path("alerts/outbox/", alerts.alerts_outbox, name="alerts_outbox"),
    path("webhooks/pleo/", webhooks.pleo_webhook, name="pleo_webhook"),
    path("jobs/<str:job_id>/entries.csv", entries.job_entries_csv, name="job_entries_csv"),
    path("healthz", health.healthz, name="healthz"),
    path("language/", languages.choose_language, name="choose_language"),
]
