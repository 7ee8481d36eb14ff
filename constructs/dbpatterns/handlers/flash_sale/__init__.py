"""Runtime code of the flash-sale order pipeline (API Gateway -> SQS -> Lambda -> DAX -> DynamoDB).

Modules:

- ``schema``: ``ORDER_REQUEST_SCHEMA``, the JSON Schema (draft-04) of ``POST /orders`` bodies. The
  API Gateway request model is built from it and the processor validates every message with it,
  so it is the single source of truth for what an order request is. It imports only the stdlib,
  so CDK code may import it at synth time.
- ``settings``: the functions' environment variables, read and checked in one place.
- ``identity``: the one mapping from an IAM caller (as API Gateway sees it) to a customer id.
- ``messages``: turns an SQS message body into an ``OrderRequest`` or raises ``MalformedOrderError``.
- ``products``: reads product data through DAX (short timeouts, circuit breaker) when an endpoint is
  configured; DynamoDB, with consistent reads, decides whenever DAX has nothing or fails.
- ``orders``: the business rule: one ``TransactWriteItems`` per order (order, stock at the price
  read, per-customer counter), outcomes, rejections and order-id conflicts.
- ``backoff``: the short, growing retry delay of messages that failed for a transient reason.
- ``processor``: the queue's Lambda handler (``dbpatterns.handlers.flash_sale.processor.handler``).
- ``order_status``: the read side, ``GET /orders/{order_id}``
  (``dbpatterns.handlers.flash_sale.order_status.handler``).

This package must not import aws_cdk or constructs, and importing it must stay cheap: submodules
are imported where they are used.
"""
