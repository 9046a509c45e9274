from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from substrapp import accounts, audit
from substrapp.channels import UnknownChannel


class Command(BaseCommand):
    help = (
        "Makes a user an admin of a channel: creates it, or sets the password and role of an existing "
        "user of that channel. Admins then manage the channel's users in /admin/ and /users/."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--channel", required=True, help="one of BACKEND_CHANNELS")

    def handle(self, *args, username, password, channel, **options):
        try:
            password_validation.validate_password(password, get_user_model()(username=username))
            created = accounts.set_up_admin(username, password, channel)
        except ValidationError as error:
            raise CommandError("password refused: " + " ".join(error.messages)) from None
        except (UnknownChannel, accounts.AccountError) as error:
            raise CommandError(str(error)) from None
        audit.record_command("create admin" if created else "update admin", "manage.py create_admin", channel, username)
        self.stdout.write(f"{'Created' if created else 'Updated'} admin {username} of channel {channel}.")
