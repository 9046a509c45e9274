from django.urls import path
from rest_framework.routers import SimpleRouter

from substrapp.api.views.info import InfoView
from substrapp.api.views.organizations import OrganizationListView
from substrapp.api.views.tokens import ActiveTokenView, LoginView
from substrapp.api.views.users import UserViewSet

router = SimpleRouter()
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("api-token-auth/", LoginView.as_view(), name="api-token-auth"),
    path("active-api-tokens/", ActiveTokenView.as_view(), name="active-api-tokens"),
    path("info/", InfoView.as_view(), name="info"),
    path("organization/", OrganizationListView.as_view(), name="organization-list"),
    *router.urls,
]
