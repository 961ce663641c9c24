EVENTS = {
    "site.created": "A site was created",
    "site.updated": "A site was renamed or its address changed",
    "site.archived": "A site was archived",
    "member.invited": "A person was added to the organization",
    "member.updated": "A member's role or status changed",
}
