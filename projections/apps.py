from django.apps import AppConfig


class ProjectionsConfig(AppConfig):
    name = "projections"

    def ready(self) -> None:
        from messaging.handlers import register
        from projections.projectors import PROJECTORS

        for projector in PROJECTORS.values():
            register(projector.name, projector)
