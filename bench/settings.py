"""The settings ``make bench`` runs on: the production settings, plus the plain-Django peer it
measures the API's transfers against (``bench/orm/``) and that peer's URL. Production and the
test suite run on settings without it, so they never see its tables."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.orm"]  # noqa: F405
ROOT_URLCONF = "bench.urls"
