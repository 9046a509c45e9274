"""The integrity of the ledger as this organization sees it, and the network: the channel's
organizations, this organization's workers and its queue."""

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from console.access import member_required
from console.ledger import channel_organizations, kept_chain, queue_summary, recheck_chain, worker_rows
from orchestrator_client.errors import OrchestratorError
from substrapp.models import channel_of


@require_http_methods(["GET", "POST"])
@member_required
def integrity(request):
    """The last event verified in the user's channel; on POST, the chain re-walked."""
    channel = channel_of(request.user)
    check, error = None, None
    if request.method == "POST":
        try:
            check = recheck_chain(channel)
        except OrchestratorError as failure:
            error = f"The orchestrator could not be asked: {failure}"
    context = {"channel": channel, "cursor": kept_chain(channel), "check": check, "error": error}
    return render(request, "console/integrity.html", context)


@require_http_methods(["GET"])
@member_required
def network(request):
    channel = channel_of(request.user)
    context = {
        "channel": channel,
        "organizations": channel_organizations(channel),
        "workers": worker_rows(),
        "queue": queue_summary(channel),
    }
    return render(request, "console/network.html", context)
