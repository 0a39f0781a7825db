from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"

    def ready(self) -> None:
        from compliance.screening import TransferScreening
        from messaging.handlers import register

        register(TransferScreening.name, TransferScreening)
