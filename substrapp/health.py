"""`GET /health/`: for load balancers and probes, without credentials. 200 when this backend's
database answers, 503 when it does not.

The answer also names the channels whose event consumer is stalled on an event it cannot apply
(substrapp/consumer.py): the position and since when, not the reason (anyone may call this; the
reason is in the consumer's log and in `manage.py consumer_status`). A stalled consumer does not
make the API unhealthy, so the status stays 200: monitoring reads `stalled_channels`."""

import logging

from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from substrapp.models import ChannelCursor

logger = logging.getLogger(__name__)


@require_GET
def health(request):
    try:
        stalled = stalled_channels()
    except DatabaseError as error:
        logger.warning("health: the database does not answer: %s", error)
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "stalled_channels": stalled})


def stalled_channels() -> list[dict]:
    """[{channel, position, since}] of the channels whose consumer cannot apply its next event."""
    cursors = ChannelCursor.objects.filter(stalled_since__isnull=False).order_by("channel")
    return [
        {"channel": cursor.channel, "position": cursor.stalled_position, "since": cursor.stalled_since.isoformat()}
        for cursor in cursors
    ]
