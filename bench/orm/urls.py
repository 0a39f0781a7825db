from django.urls import path

from bench.orm.views import OrmTransferApi

urlpatterns = [path("", OrmTransferApi.as_view(), name="orm-transfers")]
