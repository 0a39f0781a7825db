from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"

    def ready(self) -> None:
        from compliance.screening import TransferScreening
        from config.container import get_container
        from messaging.handlers import register

        register(TransferScreening.name, lambda: TransferScreening(get_container().compliance))
