from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"

    def ready(self) -> None:
        from ledger.subscribers import ComplianceDecisions
        from messaging.handlers import register

        register(ComplianceDecisions.name, ComplianceDecisions)
