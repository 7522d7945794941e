from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MARKETING = "marketing", "Marketing"
    SALES_MANAGER = "sales_manager", "Sales manager"
    SALES_REP = "sales_rep", "Sales rep"
