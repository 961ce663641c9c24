EVENTS = {"example.pinged": "Someone called the example endpoint"}
