from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"

    def ready(self) -> None:
        from compliance.application import ComplianceApplication
        from kernel.events import EventCatalogue, published
        from messaging.handlers import register
        from orders.application import OrdersApplication
        from tests.testapp.handlers import EffectRecorder
        from tests.testapp.markers import Marker

        register(EffectRecorder.name, EffectRecorder)
        for app in (OrdersApplication, ComplianceApplication):
            extra = EventCatalogue(
                app.catalogue.source,
                {Marker.Placed: published("marker.placed")},  # type: ignore[attr-defined]
            )
            app.catalogue = app.catalogue.merged(extra)
