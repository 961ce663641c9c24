from stocktrace.events.inbound import inbound_handler


@inbound_handler("example.echo")
def example_echo(*, organization, payload) -> dict:
    """{"anything": …}: answers what it got, changes nothing."""
    return {"echo": payload}
