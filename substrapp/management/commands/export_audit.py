import argparse

from django.core.management.base import BaseCommand
from django.utils.dateparse import parse_datetime

from substrapp import audit
from substrapp.models import AuditRecord


class Command(BaseCommand):
    help = "Writes the audit trail as JSON lines (one record a line, oldest first) to standard output."

    def add_arguments(self, parser):
        parser.add_argument("--channel", help="only this channel's records")
        parser.add_argument("--since", type=_time, help="only records from this ISO 8601 time on")

    def handle(self, *args, channel, since, **options):
        records = AuditRecord.objects.all()
        if channel:
            records = records.filter(channel=channel)
        if since:
            records = records.filter(time__gte=since)
        for line in audit.json_lines(records):
            self.stdout.write(line, ending="")


def _time(value: str):
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}")
    return parsed
