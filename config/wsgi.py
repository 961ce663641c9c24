import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from stocktrace.core.wsgi import Application  # noqa: E402

application = Application()
