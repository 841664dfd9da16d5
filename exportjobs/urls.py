from django.urls import path

from . import languages
from .views import attention, bulk, entries, health, jobs, pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("lookup/", pages.lookup, name="lookup"),
    path("bulk/", bulk.bulk, name="bulk"),
    path("attention/", attention.attention, name="attention"),
    path("attention/refresh/", attention.attention_refresh, name="attention_refresh"),
    path("jobs/<str:job_id>/", jobs.job_detail, name="job_detail"),
    path("jobs/<str:job_id>/refresh/", jobs.job_refresh, name="job_refresh"),
    path("jobs/<str:job_id>/entries.csv", entries.job_entries_csv, name="job_entries_csv"),
    path("healthz", health.healthz, name="healthz"),
    path("language/", languages.choose_language, name="choose_language"),
]
