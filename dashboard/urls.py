from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from exportjobs import oidc_views
from exportjobs.metrics import metrics_view
from exportjobs.signin import DeskAuthenticationForm, DeskPasswordResetView, only_with_mail

# Sign-in pages. The password reset pages answer 404 unless the desk can send mail (EMAIL_URL).
accounts = [
    path("login/", auth_views.LoginView.as_view(authentication_form=DeskAuthenticationForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signed-out/", oidc_views.signed_out, name="signed_out"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password_reset/", DeskPasswordResetView.as_view(), name="password_reset"),
    path(
        "password_reset/done/",
        only_with_mail(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        only_with_mail(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        only_with_mail(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
]

# Sign-in with the company's identity provider (OpenID Connect); each answers 404 while OIDC_ISSUER is unset.
oidc = [
    path("authenticate/", oidc_views.Authenticate.as_view(), name="oidc_authentication_init"),
    path("callback/", oidc_views.Callback.as_view(), name="oidc_authentication_callback"),
    path("logout/", oidc_views.Logout.as_view(), name="oidc_logout"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("oidc/", include(oidc)),
    path("accounts/", include(accounts)),
    path("metrics", metrics_view, name="metrics"),
    path("", include("exportjobs.urls")),
]

handler403 = "exportjobs.views.errors.permission_denied"
handler404 = "exportjobs.views.errors.page_not_found"
handler500 = "exportjobs.views.errors.server_error"
