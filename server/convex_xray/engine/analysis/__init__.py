"""The Convex code model of one file, built from its tree-sitter tree (entry point: `analyzer.analyze_file`)."""
