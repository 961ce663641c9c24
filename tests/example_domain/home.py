from stocktrace.web.home import HomePanel, Shortcut
from tests.example_domain.permissions import EXAMPLE_VIEW

SHORTCUTS = [Shortcut("Try the example", "web:example", EXAMPLE_VIEW, 95, "The example domain's daily action")]
PANELS = [HomePanel("example_domain/home.html", lambda actor: {"greeting": f"Hello, {actor.role}"}, EXAMPLE_VIEW, 95)]
