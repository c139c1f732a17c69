"""The real, published Midtrans notification test vectors (midtrans.md), kept in one place.

Each vector is a notification body exactly as Midtrans' own client libraries publish it, with
the sandbox server key that signed it, so a test can prove verification against outside truth.
"""

# From Midtrans' Node.js client: a credit card capture.
NODE_KEY = "SB-Mid-server-GwUP_WGbJPXsDzsNEBRs8IYA"
NODE_CAPTURE = {
    "transaction_time": "2018-11-05 12:16:53",
    "transaction_status": "capture",
    "transaction_id": "9a83774c-b56b-4724-acf2-c35d73834a36",
    "status_message": "midtrans payment notification",
    "status_code": "200",
    "signature_key": "d302bfcb2db008f17343e4c3b56cb20a0b22d0951ede6a7cdbfcd31f4a5d0d89"
    "d0a5230c333dd2fc5803cfbe8567ad146fb3c574d4050a87b4d81661e5d870de",
    "payment_type": "credit_card",
    "order_id": "order-id-node-1541395013",
    "masked_card": "481111-1114",
    "gross_amount": "200000.00",
    "fraud_status": "accept",
    "eci": "05",
    "channel_response_message": "Approved",
    "channel_response_code": "00",
    "card_type": "credit",
    "bank": "mandiri",
    "approval_code": "1541395013424",
}

# From Midtrans' Go and Java clients: an Akulaku settlement.
GO_KEY = "SB-Mid-server-TOq1a2AVuiyhhOjvfs3U_KeO"
GO_SETTLEMENT = {
    "transaction_time": "2020-01-09 17:58:00",
    "transaction_status": "settlement",
    "transaction_id": "fa05cba0-8ea3-4e46-a2b1-daea2a01785c",
    "status_message": "midtrans payment notification",
    "status_code": "200",
    "signature_key": "331d8619f0c53ce97abf4cfc91fae8d8d0b11da1640b5bb136b0cfbc0da161d5"
    "0fc6d0dd0d7f893977881710a2d2c174d9e036aaaa772e80fdeac6e9fb60e6b9",
    "settlement_time": "2020-01-09 18:00:48",
    "payment_type": "akulaku",
    "order_id": "order-101-1578567480",
    "merchant_id": "G812785002",
    "gross_amount": "11000.00",
    "fraud_status": "accept",
    "currency": "IDR",
}

# From Midtrans' Snap documentation ("Automatic Fee Imposition", docs.midtrans.com/docs/
# snap-advanced-feature): what a notification adds when the customer pays the fee. The
# pre-fee price sits at the top level; other bodies nest the same object under `metadata`.
FEE_IMPOSITION_EXTRA_INFO = {
    "gross_amount_info": {
        "original_amount": "10000",
        "gross_amount": 10071,
        "customer_imposed_payment_fee": "71",
    }
}
