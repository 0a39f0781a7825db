"""The composition root as a Django app, so it can own the cross-context commands (run_all, ...),
and the admin app that installs eventbank's admin site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "eventbank"


class EventbankAdminConfig(admin_apps.AdminConfig):
    """Django's admin app with eventbank's site (the operations pages) as ``admin.site``.
    Named in INSTALLED_APPS in place of ``django.contrib.admin``."""

    default = False  # not the config app's own AppConfig
    default_site = "config.admin.EventbankAdminSite"
