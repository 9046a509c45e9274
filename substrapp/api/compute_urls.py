"""Compute plans, tasks and their outputs (docs/sdk-contract.md §4.5 to 4.7)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from substrapp.api.views.computeplans import ComputePlanViewSet
from substrapp.api.views.computetasks import PlanTaskViewSet, TaskViewSet
from substrapp.api.views.outputs import ModelViewSet
from substrapp.api.views.reports import (
    ComputePlanMetadataView,
    FunctionProfilingView,
    NewsFeedView,
    PerformanceExportView,
    TaskProfilingView,
)

router = SimpleRouter()
router.register("compute_plan", ComputePlanViewSet, basename="compute_plan")
router.register("task", TaskViewSet, basename="task")
router.register("model", ModelViewSet, basename="model")

urlpatterns = [
    *router.urls,
    # The web frontend's routes (docs/frontend-contract.md); its function profiling has no slash.
    path("compute_plan/<str:compute_plan_key>/task/", PlanTaskViewSet.as_view({"get": "list"}), name="plan-tasks"),
    path("compute_plan_metadata/", ComputePlanMetadataView.as_view(), name="compute-plan-metadata"),
    path("performance/export/", PerformanceExportView.as_view(), name="performance-export"),
    path("news_feed/", NewsFeedView.as_view(), name="news-feed"),
    path("task_profiling/<str:key>/", TaskProfilingView.as_view(), name="task-profiling"),
    path("function/<str:key>/profiling", FunctionProfilingView.as_view(), name="function-profiling"),
]
