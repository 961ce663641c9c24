from config.settings_test import *  # noqa: F403

STOCKTRACE_APPS = [*STOCKTRACE_APPS, "tests.example_domain"]  # noqa: F405  (the one line a new domain adds)
INSTALLED_APPS = [*INSTALLED_APPS, "tests.example_domain"]  # noqa: F405  (settings.py derives it from the above)
