"""The Markdown store: record files with YAML frontmatter, read and written exactly."""
