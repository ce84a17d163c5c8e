"""Pages of promotion requests and the review queue."""

from django.urls import path

from apps.registry.views import promotion_actions as actions
from apps.registry.views import promotions as pages

urlpatterns = [
    path("reviews/", pages.reviews, name="reviews"),
    path("promotions/new/", pages.promotion_new, name="promotion-new"),
    path("promotions/<int:pk>/", pages.promotion_detail, name="promotion"),
    path("promotions/<int:pk>/approve/", actions.promotion_approve, name="promotion-approve"),
    path("promotions/<int:pk>/reject/", actions.promotion_reject, name="promotion-reject"),
    path("promotions/<int:pk>/cancel/", actions.promotion_cancel, name="promotion-cancel"),
    path("promotions/<int:pk>/override/", actions.promotion_override, name="promotion-override"),
]
