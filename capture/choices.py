from django.db import models


class UnknownEmail(models.TextChoices):
    """What a webhook source does with an event for an email Leadloop does not know."""

    CREATE = "create", "Create a lead"
    IGNORE = "ignore", "Reject the event"


class SignatureScheme(models.TextChoices):
    """How a webhook source's sender signs its deliveries with the source's signing secret."""

    LEADLOOP = "leadloop", "Leadloop (X-Leadloop-Signature)"
    ZOOM = "zoom", "Zoom (x-zm-signature)"


class DeliveryOutcome(models.TextChoices):
    """What became of one request to a webhook source's endpoint."""

    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    # Zoom checking the endpoint before it sends anything: answered, records no event.
    VALIDATION = "validation", "URL validation"


class DeliveryRejection(models.TextChoices):
    """Why a webhook delivery was refused (the HTTP status alone cannot tell them apart)."""

    WRONG_METHOD = "wrong_method", "not a POST"
    SOURCE_OFF = "source_off", "source switched off"
    TOO_LARGE = "too_large", "too large"
    BAD_TOKEN = "bad_token", "bad token"
    RATE_LIMITED = "rate_limited", "rate limited"
    NOT_JSON_TYPE = "not_json_type", "not sent as JSON"
    BAD_SIGNATURE = "bad_signature", "bad signature"
    INVALID_JSON = "invalid_json", "invalid JSON"
    BAD_PAYLOAD = "bad_payload", "payload does not fit the mapping"
    MAPPING_ERROR = "mapping_error", "mapping error"
    SERVER_ERROR = "server_error", "server error"


class Submitter(models.TextChoices):
    """Who sends lead data to capture: it decides what the data may change on a lead
    Leadloop already knows (`capture.rules.rights_of`). A new lead takes everything."""

    # Leadloop's own flows (seed data, a capture a person started in the app): in charge.
    INTERNAL = "internal", "Leadloop"
    # A signed-in user of the API: in charge of the leads they may see, a stranger to
    # the others.
    USER = "user", "A signed-in user"
    # A tool marketing connected (a webhook source): it is authenticated, the people who
    # typed what it relays are not (anyone can register for a webinar with any address).
    TOOL = "tool", "A connected tool"
    # Anyone on the internet: the public web form.
    PUBLIC = "public", "Anyone (public web form)"
