"""The pushes accounts accepts from integrations (see stocktrace/events/inbound.py for the contract)."""

from stocktrace.accounts.services.sites import site_create, site_update
from stocktrace.core.errors import DomainError
from stocktrace.events.inbound import PayloadRejected, inbound_handler
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Site


@inbound_handler("site.upsert")
def site_upsert(*, organization, payload) -> dict:
    """{"sites": [{"code": "WH-1", "name": "North", "address": "…"}, …]}: create or update sites by code."""
    sites = payload.get("sites") if isinstance(payload, dict) else None
    if not isinstance(sites, list) or not sites:
        raise PayloadRejected('expected {"sites": [{"code": …, "name": …}, …]}')
    actor = Actor.system(organization, device="webhook:site.upsert")
    summary: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    for index, entry in enumerate(sites):
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str) or not isinstance(
                entry.get("name"), str):
            raise PayloadRejected(f"sites[{index}] needs a string code and name")
        address = entry.get("address", "")
        if not isinstance(address, str):
            raise PayloadRejected(f"sites[{index}].address must be a string")
        try:
            existing = Site.objects.for_org(organization).filter(code=entry["code"].strip()).first()
            if existing is None:
                site_create(actor=actor, code=entry["code"], name=entry["name"], address=address)
                summary["created"].append(entry["code"])
            else:
                updated = site_update(actor=actor, site=existing, name=entry["name"], address=address)
                same = (updated.name, updated.address) == (existing.name, existing.address)
                summary["unchanged" if same else "updated"].append(entry["code"])
        except DomainError as error:
            raise PayloadRejected(f"sites[{index}]: {error.detail}") from error
    return summary
