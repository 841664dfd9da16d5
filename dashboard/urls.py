from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("exportjobs.urls")),
]

handler403 = "exportjobs.views.permission_denied"
handler404 = "exportjobs.views.page_not_found"
handler500 = "exportjobs.views.server_error"
