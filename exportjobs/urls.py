from django.urls import path

from . import languages, views

urlpatterns = [
    path("", views.home, name="home"),
    path("lookup/", views.lookup, name="lookup"),
    path("bulk/", views.bulk, name="bulk"),
    path("attention/", views.attention, name="attention"),
    path("attention/refresh/", views.attention_refresh, name="attention_refresh"),
    path("jobs/<str:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<str:job_id>/refresh/", views.job_refresh, name="job_refresh"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", languages.choose_language, name="choose_language"),
]
