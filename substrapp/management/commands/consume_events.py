import contextlib
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orchestrator_client import heap
from substrapp import metrics
from substrapp.channels import channel_names
from substrapp.consumer import consume_channels


class Command(BaseCommand):
    help = (
        "Follows the orchestrator's events of each channel of this organization and keeps the local "
        "mirror in step, from the position kept in the database. Runs until SIGTERM or SIGINT; a "
        "channel whose hash chain breaks stops with a critical log, the others go on, and the "
        "command exits with an error once every channel has stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--channel", action="append", dest="channels", help="a channel to follow (repeatable; default: all)"
        )
        parser.add_argument(
            "--until-idle", action="store_true", help="apply the events there are, then exit (tests, devnet)"
        )

    def handle(self, *args, channels, until_idle, **options):
        channels = channels or channel_names()
        unknown = sorted(set(channels) - set(channel_names()))
        if unknown:
            raise CommandError(f"not channels of this organization: {', '.join(unknown)}")
        if settings.CONSUMER_METRICS_PORT:
            metrics.serve_metrics(settings.CONSUMER_METRICS_PORT)
        if not until_idle:  # a service for the process's life, not a catch-up run inside another program
            heap.settle()
        stop = threading.Event()
        with _stopped_by_signals(stop):
            failures = consume_channels(channels, stop=stop, stop_when_idle=until_idle)
        if failures:
            stopped = "; ".join(f"{channel}: {error}" for channel, error in sorted(failures.items()))
            raise CommandError(f"stopped on an error: {stopped}")


@contextlib.contextmanager
def _stopped_by_signals(stop: threading.Event):
    """SIGTERM and SIGINT set `stop` (each channel then ends after its current batch)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread
        return
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
