from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"

    def ready(self) -> None:
        from config.container import get_container
        from ledger.subscribers import ComplianceDecisions, ForgottenCustomers
        from messaging.handlers import register

        register(ComplianceDecisions.name, lambda: ComplianceDecisions(get_container().ledger))
        register(ForgottenCustomers.name, lambda: ForgottenCustomers(get_container().ledger))
