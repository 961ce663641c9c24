"""The events integrations can subscribe to. Later capabilities add theirs here."""

EVENTS: dict[str, str] = {
    "ping": "A test delivery, sent on request from the subscription's page",
    "site.created": "A site was created",
    "site.updated": "A site was renamed or its address changed",
    "site.archived": "A site was archived",
    "member.invited": "A person was added to the organization",
    "member.updated": "A member's role or status changed",
    "job.dead": "A background job failed on every attempt and was dead-lettered",
    "alert.raised": "A stock alert was raised (low stock, stockout, excess, expiring, expired, discrepancy)",
}
