"""Runs several `manage.py` commands of one organization in one process: `python -m
devnet.setup_org` reads a JSON list of argument lists on stdin (so passwords do not show in the
process list) and stops at the first that fails. One Django start instead of one per command:
the devnet's setup is most of its start time on a busy machine."""

import json
import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django
    from django.core.management import CommandError, call_command

    django.setup()
    for arguments in json.load(sys.stdin):
        try:
            call_command(*arguments)
        except CommandError as error:
            print(f"manage.py {arguments[0]}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
