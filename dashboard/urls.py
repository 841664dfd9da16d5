from django.contrib import admin
from django.urls import include, path

from exportjobs.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("", include("exportjobs.urls")),
]

handler403 = "exportjobs.views.permission_denied"
handler404 = "exportjobs.views.page_not_found"
handler500 = "exportjobs.views.server_error"
