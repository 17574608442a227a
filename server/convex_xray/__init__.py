"""convex-xray: find and fix performance anti-patterns in Convex backends."""

__version__ = "0.1.0"
