from orchestrator import snapshots
from orchestrator.events import recording, retry_on_conflict
from orchestrator.ledger.common import Caller, check_address, now
from orchestrator.models import Organization


@retry_on_conflict
def register_organization(caller: Caller, address: str) -> dict:
    """Registers the calling organization in the channel, or updates its backend address."""
    check_address(address, required=False)
    with recording(caller.channel) as events:
        org = Organization.objects.select_for_update().filter(channel=caller.channel, org_id=caller.org).first()
        if org is None:
            org = Organization.objects.create(
                channel=caller.channel, org_id=caller.org, address=address, creation_date=now()
            )
            events.created("ASSET_ORGANIZATION", "", snapshots.organization(org))
        elif org.address != address:
            org.address = address
            org.save(update_fields=["address"])
            events.updated("ASSET_ORGANIZATION", "", snapshots.organization(org))
        return snapshots.organization(org)


def list_organizations(caller: Caller) -> list[dict]:
    rows = Organization.objects.filter(channel=caller.channel).order_by("creation_date", "org_id")
    return [snapshots.organization(row) for row in rows]


def known_organizations(channel: str) -> set[str]:
    return set(Organization.objects.filter(channel=channel).values_list("org_id", flat=True))
