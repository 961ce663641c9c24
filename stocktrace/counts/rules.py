"""The counts' rules that more than one service applies."""

from datetime import date

from stocktrace.core.errors import Conflict, InvalidInput, PermissionDenied
from stocktrace.counts.models import CountArea, CountSession, SessionStatus
from stocktrace.tenancy.actor import Actor

FORMAT_FIELDS = ("{DD}", "{MM}", "{YY}", "{YYYY}", "{SITE}", "{NNN}")


def site_access_require(actor: Actor, site_id: int, site_code: str) -> None:
    if actor.site_ids is not None and site_id not in actor.site_ids:
        raise PermissionDenied(f"You are not assigned to site {site_code}")


def session_open_require(session: CountSession) -> None:
    if not session.is_open:
        raise Conflict(f"Count {session.name} is {session.status}")


def session_running_require(session: CountSession) -> None:
    if session.status != SessionStatus.IN_PROGRESS:
        raise Conflict(f"Count {session.name} is {session.status.replace('_', ' ')}, not in progress")


def reason_check(reason: str, field: str = "reason") -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Give a reason", field=field)
    if len(reason) > 200:
        raise InvalidInput("A reason has at most 200 characters", field=field)
    return reason


def area_barcode_format_check(text: str) -> str:
    """A format must number the areas ({NNN}) and may hold the date and the site's code; at most 40 characters."""
    text = text.strip()
    if "{NNN}" not in text:
        raise InvalidInput("The format must contain {NNN}, the area's number", field="area_barcode_format")
    rest = text
    for placeholder in FORMAT_FIELDS:
        rest = rest.replace(placeholder, "")
    if "{" in rest or "}" in rest:
        raise InvalidInput(f"Only these fields may appear in braces: {' '.join(FORMAT_FIELDS)}",
                           field="area_barcode_format")
    if not rest.isascii() or not all(ch.isprintable() and ch != " " for ch in rest) or len(text) > 40:
        raise InvalidInput("A format is up to 40 printable ASCII characters, without spaces",
                           field="area_barcode_format")
    return text


def area_barcode(fmt: str, *, number: int, day: date, site_code: str) -> str:
    """DDMM-NNN by default (the audit scanner's labels): 0212-007. Numbers past 999 keep all their digits."""
    return (fmt.replace("{DD}", f"{day:%d}").replace("{MM}", f"{day:%m}").replace("{YYYY}", f"{day:%Y}")
            .replace("{YY}", f"{day:%y}").replace("{SITE}", site_code).replace("{NNN}", f"{number:03d}"))


def area_holder_require(area: CountArea, actor: Actor) -> None:
    if area.holder_id != (actor.membership.pk if actor.membership else None):
        who = "nobody" if area.holder_id is None else "someone else"
        raise Conflict(f"Area {area.barcode} is held by {who}: scan its barcode to claim it first")
