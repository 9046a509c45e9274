from django.core.management.base import BaseCommand, CommandError

from substrapp import audit
from substrapp.channels import channel_names


class Command(BaseCommand):
    help = (
        "Holds this organization's audit trail against the ledger, channel by channel, up to the last "
        "event its consumer applied: every event of an asset this organization's users created has "
        "its audit record, and every audit record of a ledger action has its event (same position, "
        "same hash). The events are read from the orchestrator and checked against the hash chain. "
        "Exits with an error listing what disagrees."
    )

    def add_arguments(self, parser):
        parser.add_argument("--channel", action="append", help="one of BACKEND_CHANNELS (default: all)")
        parser.add_argument(
            "--after", type=int, default=0, help="events up to this position need no record (a trail started late)"
        )

    def handle(self, *args, channel, after, **options):
        problems = []
        for name in channel or channel_names():
            found = audit.verify_channel(name, after=after)
            self.stdout.write(f"{name}: {'agrees with the ledger' if not found else f'{len(found)} problems'}")
            problems += [f"{name}: {problem}" for problem in found]
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"the audit trail and the ledger disagree in {len(problems)} places")
