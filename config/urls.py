from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts.admin import secure_admin_site

# The admin's sign-in and sign-out are allauth's (rate limits, lock-out, the MFA stage),
# and only sessions that passed a second factor get in (accounts.admin).
secure_admin_site(admin.site)

urlpatterns = [
    path("", include("frontend.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("me/", include("accounts.urls")),
    path("directory/", include("accounts.directory.urls")),
    path("bank/", include("quizzes.bank.urls")),
    path("papers/", include("quizzes.papers.urls")),
    path("practice/", include("quizzes.play.urls")),
    path("live/", include("realtime.urls")),
    path("admin/", admin.site.urls),
]

# A database that cannot be reached, or has no connection free, is a 503 (frontend.views).
handler500 = "frontend.views.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
