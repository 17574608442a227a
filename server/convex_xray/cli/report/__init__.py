"""`convex-xray report`: the prioritized performance audit (Markdown, HTML or JSON) built
from one check. The engine never imports this package."""
