EVENTS = {
    "member.invited": "A person was added to the organization",
    "member.updated": "A member's role or status changed",
}
