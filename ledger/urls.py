from django.urls import path

from ledger import apis, hold_apis

urlpatterns = [
    path("accounts/", apis.AccountsApi.as_view(), name="accounts"),
    path("accounts/<uuid:account_id>/", apis.AccountDetailApi.as_view(), name="account-detail"),
    path(
        "accounts/<uuid:account_id>/deposits/", apis.DepositApi.as_view(), name="account-deposits"
    ),
    path(
        "accounts/<uuid:account_id>/withdrawals/",
        apis.WithdrawalApi.as_view(),
        name="account-withdrawals",
    ),
    path(
        "accounts/<uuid:account_id>/events/", apis.AccountEventsApi.as_view(), name="account-events"
    ),
    path(
        "accounts/<uuid:account_id>/transactions/",
        apis.AccountTransactionsApi.as_view(),
        name="account-transactions",
    ),
    path(
        "accounts/<uuid:account_id>/freeze/", apis.FreezeAccountApi.as_view(), name="account-freeze"
    ),
    path(
        "accounts/<uuid:account_id>/unfreeze/",
        apis.UnfreezeAccountApi.as_view(),
        name="account-unfreeze",
    ),
    path("accounts/<uuid:account_id>/close/", apis.CloseAccountApi.as_view(), name="account-close"),
    path("transfers/", apis.TransfersApi.as_view(), name="transfers"),
    path("transfers/<uuid:transfer_id>/", apis.TransferDetailApi.as_view(), name="transfer-detail"),
    path("transfer-batches/", apis.TransferBatchesApi.as_view(), name="transfer-batches"),
    path("holds/", hold_apis.HoldsApi.as_view(), name="holds"),
    path("holds/<uuid:hold_id>/", hold_apis.HoldDetailApi.as_view(), name="hold-detail"),
    path("holds/<uuid:hold_id>/capture/", hold_apis.CaptureHoldApi.as_view(), name="hold-capture"),
    path("holds/<uuid:hold_id>/void/", hold_apis.VoidHoldApi.as_view(), name="hold-void"),
    path(
        "transfer-batches/<uuid:batch_id>/",
        apis.TransferBatchDetailApi.as_view(),
        name="transfer-batch-detail",
    ),
]
