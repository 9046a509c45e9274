from django.core.management.base import BaseCommand, CommandError

from substrapp import peers


class Command(BaseCommand):
    help = (
        "Registers the credentials exchanged with another organization: the password it presents "
        "when it calls us (kept hashed) and the one we present when we call it. Running it again "
        "replaces them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org-id", required=True, help="the other organization's id, e.g. MyOrg2MSP")
        parser.add_argument("--incoming-password", required=True, help="what it presents to us")
        parser.add_argument("--outgoing-password", required=True, help="what we present to it")
        parser.add_argument(
            "--url", default="", help="its backend's base URL (default: the address it registered in the channel)"
        )

    def handle(self, *args, org_id, incoming_password, outgoing_password, url, **options):
        try:
            created = peers.register_peer(org_id, incoming_password, outgoing_password, url)
        except peers.PeerError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{'Added' if created else 'Updated'} peer {org_id}.")
