"""Compute plans, tasks and their outputs (docs/sdk-contract.md §4.5 to 4.7)."""

from rest_framework.routers import SimpleRouter

from substrapp.api.views.computeplans import ComputePlanViewSet
from substrapp.api.views.computetasks import TaskViewSet
from substrapp.api.views.outputs import ModelViewSet

router = SimpleRouter()
router.register("compute_plan", ComputePlanViewSet, basename="compute_plan")
router.register("task", TaskViewSet, basename="task")
router.register("model", ModelViewSet, basename="model")

urlpatterns = router.urls
