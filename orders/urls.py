from django.urls import path

from orders import apis

urlpatterns = [
    path("products/", apis.ProductsApi.as_view(), name="products"),
    path("products/<str:sku>/stock/", apis.ProductStockApi.as_view(), name="product-stock"),
    path("orders/", apis.OrdersApi.as_view(), name="orders"),
    path("orders/<uuid:order_id>/", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<uuid:order_id>/history/", apis.OrderHistoryApi.as_view(), name="order-history"),
    path("orders/<uuid:order_id>/ship/", apis.ShipOrderApi.as_view(), name="order-ship"),
    path("orders/<uuid:order_id>/cancel/", apis.CancelOrderApi.as_view(), name="order-cancel"),
]
