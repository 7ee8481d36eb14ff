"""Use case 1: flash-sale order pipeline (API Gateway -> SQS -> Lambda -> DAX -> DynamoDB)."""

from dbpatterns.flash_sale.dax_cache import DaxCache, DaxCacheProps
from dbpatterns.flash_sale.order_api import OrderIntakeApi, OrderIntakeApiProps
from dbpatterns.flash_sale.pipeline import FlashSaleOrderPipeline, FlashSaleOrderPipelineProps

__all__ = [
    "DaxCache",
    "DaxCacheProps",
    "FlashSaleOrderPipeline",
    "FlashSaleOrderPipelineProps",
    "OrderIntakeApi",
    "OrderIntakeApiProps",
]
