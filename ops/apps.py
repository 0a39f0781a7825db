"""Operations as a Django app, so it owns the commands that run the system (``run_all``,
``recover_sagas``, ``seed_demo``) and the admin's operations pages; and the admin app that
installs eventbank's admin site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "eventbank operations"


class EventbankAdminConfig(admin_apps.AdminConfig):
    """Django's admin app with eventbank's site (the operations pages) as ``admin.site``.
    Named in INSTALLED_APPS in place of ``django.contrib.admin``."""

    default = False  # not the ops app's own AppConfig
    default_site = "ops.site.EventbankAdminSite"
