"""The domain: one module per area; services return results, presentation renders them."""
