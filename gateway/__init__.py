"""The gateway: identity, tokens, routing to the services, the merged OpenAPI document."""
