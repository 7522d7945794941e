"""The REST API root, version 1: each app contributes a router from its own `api.py`."""

from ninja import NinjaAPI

from users.api_auth import BearerTokenAuth

api = NinjaAPI(
    title="Leadloop API",
    version="1",
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=BearerTokenAuth(),
)
