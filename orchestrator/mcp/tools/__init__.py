"""The tools, one module per area; each tool a typed function whose docstring the agent
reads. server.py registers every function listed in a module's TOOLS."""
