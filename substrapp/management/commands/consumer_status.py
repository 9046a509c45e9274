from django.core.management.base import BaseCommand, CommandError

from substrapp.models import ChannelCursor


class Command(BaseCommand):
    help = (
        "Shows, for each channel, the position of the last event the consumer applied and, when it "
        "is stalled on an event it cannot apply, that event's position, the reason and since when. "
        "Exits with an error when a channel is stalled (usable as a probe)."
    )

    def handle(self, *args, **options):
        stalled = []
        for cursor in ChannelCursor.objects.order_by("channel"):
            line = f"{cursor.channel}: applied up to event {cursor.position}"
            if cursor.stalled_since is not None:
                stalled.append(cursor.channel)
                line += (
                    f"; STALLED at event {cursor.stalled_position} since {cursor.stalled_since.isoformat()}: "
                    f"{cursor.stalled_error}"
                )
            self.stdout.write(line)
        if stalled:
            raise CommandError(f"stalled channels: {', '.join(stalled)}")
