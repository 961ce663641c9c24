EVENTS = {
    "ping": "A test delivery, sent on request from the subscription's page",
}
