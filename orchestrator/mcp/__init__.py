"""`orch mcp`: the MCP server AI clients drive orch through (stdio, `mcp` 2.x SDK).

Every tool is a thin adapter: it calls one core operation, and answers with a short
text and the data as structured output. Replies are small by default: lists come in
pages (50 rows, a cursor for the next) of summary fields, long texts are cut with the
file that holds them named, and no reply is larger than REPLY_BUDGET (8 KB) unless asked.
Errors are tool errors whose message says what to do, and names the tool call that would
succeed when the core's error carries a hint.

One server serves one project at a time: the one given by --root (or ORCH_ROOT), else
the one found at or above the directory it was started in, else the one
orchestrator_initialize_session(working_directory) names — never orch's own install
directory. Several servers (one per agent) can share a project: the project lock
serializes their writes and the shared index shows each the others' changes at its
next call.

Layout: server.py builds the server and registers the tools of tools/<area>.py and the
resources of resources.py; served.py holds one server's state (the project, one call at
a time); replies.py shapes and bounds the replies; errors.py turns errors into messages.
Nothing here imports the SDK at package import: `orch` starts fast.
"""
