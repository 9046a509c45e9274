from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from substrapp.health import health

routes = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("schema/swagger-ui/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("schema/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("substrapp.api.urls")),
]

# BACKEND_URL_PREFIX: every route under it (reverse() then names it in every address we give out).
urlpatterns = [path(settings.URL_PREFIX.lstrip("/") + "/", include(routes))] if settings.URL_PREFIX else routes
# The console at `/` and under `/console/`, outside any prefix: routes the API does not use.
urlpatterns = [path("", include("console.urls")), *urlpatterns]

handler404 = "substrapp.api.errors.not_found"
handler500 = "substrapp.api.errors.server_error"
