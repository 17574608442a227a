"""The language server's features, one module each (layers of `ConvexXrayServer`)."""
