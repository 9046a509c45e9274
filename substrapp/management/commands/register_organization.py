from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orchestrator_client import OrchestratorError
from substrapp.orchestration import orchestrator_for


class Command(BaseCommand):
    help = (
        "Registers this organization (BACKEND_ORG_ID, the O of its certificate) with the orchestrator, in "
        "each of its channels, with the address where the other organizations reach its backend "
        "(BACKEND_PUBLIC_URL by default). Run it again after the address changes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--address", default="", help="the backend's public URL (default: BACKEND_PUBLIC_URL)")
        parser.add_argument("--channel", action="append", help="only this channel (repeatable)")

    def handle(self, *args, address, channel, **options):
        address = address or settings.PUBLIC_URL
        if not address:
            raise CommandError("no address: give --address or set BACKEND_PUBLIC_URL")
        channels = channel or list(settings.CHANNELS)
        unknown = sorted(set(channels) - set(settings.CHANNELS))
        if unknown:
            raise CommandError(f"not channels of this organization: {', '.join(unknown)}")
        for name in channels:
            try:
                registered = orchestrator_for(name).register_organization(address)
            except OrchestratorError as error:
                raise CommandError(f"channel {name}: {error}") from None
            self.stdout.write(f"Registered {registered.id} in channel {name} at {registered.address}.")
