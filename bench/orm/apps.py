from django.apps import AppConfig


class OrmPeerConfig(AppConfig):
    name = "bench.orm"
    label = "bench_orm"
    verbose_name = "The bench's plain-Django peer"
