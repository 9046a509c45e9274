"""The compute plans: the list (live), a plan's page (graph, chart, tasks, cancel), its states
for the live graph, and its performances as CSV."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from console.access import form_errors, member_required
from console.forms import PlanKeysForm
from console.plans import (
    STATUS_LABELS,
    may_cancel,
    performance_series,
    performances_csv,
    plan_summaries,
    task_graph,
    task_statuses,
)
from orchestrator_client.errors import OrchestratorError
from substrapp import computation
from substrapp.api.filtersets.computeplans import PLAN_STATUSES, ComputePlanFilterSet
from substrapp.models import ComputePlan, ComputeTask

PAGE_SIZE = 50
# The filterset's `ordering` values the list offers; without one, the newest plans come first.
ORDERINGS = [
    ("", "newest first"),
    ("creation_date", "oldest first"),
    ("name", "name"),
    ("status", "status"),
    ("-duration", "longest first"),
    ("-end_date", "last ended"),
]
TASK_PAGE_SIZE = 100


def visible_plans(request):
    return ComputePlan.objects.for_user(request.user).select_related("creator_record")


def plan_of(request, key: str) -> ComputePlan:
    """A plan of the user's channel; another channel's key is a 404, as in the API."""
    return get_object_or_404(visible_plans(request), key=key)


@require_GET
@member_required
def plan_list(request):
    filters = ComputePlanFilterSet(request.GET, queryset=visible_plans(request))
    if not filters.is_valid():
        context = {"errors": filters.errors, "statuses": PLAN_STATUSES, "orderings": ORDERINGS, "query": request.GET}
        return render(request, "console/plans.html", context, status=400)
    plans = filters.qs if request.GET.get("ordering") else filters.qs.order_by("-creation_date", "key")
    page = Paginator(plans, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "plans": plan_summaries(list(page.object_list)),
        "statuses": PLAN_STATUSES,
        "orderings": ORDERINGS,
        "query": request.GET,
    }
    return render(request, "console/plans.html", context)


@require_GET
@member_required
def plan_states(request):
    """The live part of the plans list: status and task counts of the plans on screen."""
    form = PlanKeysForm(request.GET)
    if not form.is_valid():
        return form_errors(form)
    plans = list(visible_plans(request).filter(key__in=form.cleaned_data["keys"]))
    return JsonResponse({"plans": plan_summaries(plans)})


@require_GET
@member_required
def plan_detail(request, key):
    plan = plan_of(request, key)
    tasks = (
        ComputeTask.objects.filter(compute_plan=plan)
        .select_related("function")
        .order_by("rank", "worker", "creation_date", "key")
    )
    context = {
        "plan": plan,
        "summary": plan_summaries([plan])[0],
        "tasks": Paginator(tasks, TASK_PAGE_SIZE).get_page(request.GET.get("page")),
        "status_labels": STATUS_LABELS,
        "charts": performance_series(plan),
    }
    return render(request, "console/plan.html", context)


@require_GET
@member_required
def plan_graph(request, key):
    """The workflow graph's tasks, fetched once by the plan's page."""
    return JsonResponse(task_graph(plan_of(request, key)))


@require_GET
@member_required
def plan_live(request, key):
    """The live part of a plan's page: its summary, each task's status in the graph's order, its
    performances."""
    plan = plan_of(request, key)
    summary = plan_summaries([plan])[0]
    return JsonResponse({"plan": summary, "status": task_statuses(plan), "charts": performance_series(plan)})


@require_GET
@member_required
def plan_performances_csv(request, key):
    plan = plan_of(request, key)
    response = HttpResponse(performances_csv(plan), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="performances-{plan.key}.csv"'
    return response


@require_POST
@member_required
def plan_cancel(request, key):
    plan = plan_of(request, key)
    if not may_cancel(plan):
        messages.error(request, "Only the organization that owns a running plan may cancel it.")
        return redirect("console:plan", key=plan.key)
    try:
        computation.cancel_compute_plan(plan)
    except OrchestratorError as error:
        messages.error(request, f"The orchestrator refused to cancel the plan: {error}")
    else:
        messages.success(request, f"Plan {plan.name} canceled.")
    return redirect("console:plan", key=plan.key)
