from django.urls import path

from customers import apis

urlpatterns = [
    path("me/profile/", apis.MyProfileApi.as_view(), name="my-profile"),
    path(
        "customers/<str:username>/profile/",
        apis.CustomerProfileApi.as_view(),
        name="customer-profile",
    ),
    path(
        "customers/<str:username>/forget/", apis.ForgetCustomerApi.as_view(), name="customer-forget"
    ),
]
