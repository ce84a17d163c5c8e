from django.contrib import admin

from apps.costs.models import Budget, BudgetAlert, Rate


@admin.register(Rate)
class RateAdmin(admin.ModelAdmin):
    """Hourly rates per device type; a device without a row uses COST_PER_HOUR_<DEVICE>."""

    list_display = ("device", "cost_per_hour", "updated_at")
    search_fields = ("device",)


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ("project", "amount", "currency", "updated_by", "updated_at")
    list_select_related = ("project", "updated_by")
    readonly_fields = ("created_by", "updated_by", "created_at", "updated_at")


@admin.register(BudgetAlert)
class BudgetAlertAdmin(admin.ModelAdmin):
    list_display = ("project", "month", "threshold", "spent", "budget", "notified", "created_at")
    list_filter = ("threshold",)
    list_select_related = ("project",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the record of what was sent; never edited
