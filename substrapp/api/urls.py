from django.urls import include, path
from rest_framework.routers import SimpleRouter

from substrapp.api.views.audit import AuditRecordViewSet
from substrapp.api.views.datasets import DataManagerViewSet, DataSampleViewSet
from substrapp.api.views.functions import FunctionViewSet
from substrapp.api.views.info import InfoView
from substrapp.api.views.me import LoginView as SessionLoginView
from substrapp.api.views.me import LogoutView, RefreshView
from substrapp.api.views.organizations import OrganizationListView
from substrapp.api.views.tokens import ActiveTokenView, ApiTokenView, LoginView
from substrapp.api.views.users import UsersAwaitingApprovalView, UserViewSet

router = SimpleRouter()
router.register("users", UserViewSet, basename="user")
router.register("data_manager", DataManagerViewSet, basename="data_manager")
router.register("data_sample", DataSampleViewSet, basename="data_sample")
router.register("function", FunctionViewSet, basename="function")
router.register("audit", AuditRecordViewSet, basename="audit")

urlpatterns = [
    path("api-token-auth/", LoginView.as_view(), name="api-token-auth"),
    path("active-api-tokens/", ActiveTokenView.as_view(), name="active-api-tokens"),
    path("api-token/", ApiTokenView.as_view(), name="api-token"),
    path("users-awaiting-approval/", UsersAwaitingApprovalView.as_view(), name="users-awaiting-approval"),
    path("info/", InfoView.as_view(), name="info"),
    path("me/login/", SessionLoginView.as_view(), name="me-login"),
    path("me/refresh/", RefreshView.as_view(), name="me-refresh"),
    path("me/logout/", LogoutView.as_view(), name="me-logout"),
    path("organization/", OrganizationListView.as_view(), name="organization-list"),
    *router.urls,
    path("", include("substrapp.api.compute_urls")),
]
