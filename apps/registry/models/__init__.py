from apps.registry.models.promotions import (
    Decision,
    PromotionPolicy,
    PromotionRequest,
    RequestStatus,
    Review,
    StageChange,
)
from apps.registry.models.registry import CARD_SECTIONS, ModelVersion, RegisteredModel, Stage

__all__ = [
    "CARD_SECTIONS",
    "Decision",
    "ModelVersion",
    "PromotionPolicy",
    "PromotionRequest",
    "RegisteredModel",
    "RequestStatus",
    "Review",
    "Stage",
    "StageChange",
]
