"""The composition root as a Django app, so it can own the cross-context commands (run_all, ...)."""

from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "eventbank"
