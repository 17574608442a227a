"""Code shared by several rules: batch-fetch planning, index plans and schema edits, index and result use, loop cost."""
