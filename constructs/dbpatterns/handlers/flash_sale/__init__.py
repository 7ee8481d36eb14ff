"""Runtime code of the flash-sale order pipeline (API Gateway -> SQS -> Lambda -> DAX -> DynamoDB).

Modules:

- ``schema``: ``ORDER_REQUEST_SCHEMA``, the JSON Schema (draft-04) of ``POST /orders`` bodies. The
  API Gateway request model is built from it and the processor validates every message with it,
  so it is the single source of truth for what an order request is. It imports only the stdlib,
  so CDK code may import it at synth time.
- ``settings``: the processor's environment variables, read and checked in one place.
- ``messages``: turns an SQS message body into an ``OrderRequest`` or raises ``MalformedOrderError``.
- ``products``: reads product data through DAX when an endpoint is configured, else from DynamoDB.
- ``orders``: the business rule: one ``TransactWriteItems`` per order, outcomes and rejections.
- ``processor``: the Lambda handler (``dbpatterns.handlers.flash_sale.processor.handler``).

This package must not import aws_cdk or constructs, and importing it must stay cheap: submodules
are imported where they are used.
"""
