"""`orch mcp`: the MCP server AI clients drive orch through (stdio; the protocol is
spoken by protocol.py, not by the SDK's server, to start in a fifth of the time).

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

Layout: protocol.py is the JSON-RPC session (stdio, cancellation, progress); server.py
answers its methods with the tools of tools/<area>.py, described by catalog.py (tool
sets, titles, annotations, parameter texts, output keys), the resources and
subscriptions of resources.py and the prompts of prompts.py; served.py holds one server's
state (the project, one call at a time); replies.py shapes and bounds the replies;
errors.py turns errors into messages; in_process.py lets the SDK's client connect in the
same process (tests), and is the one module that imports the SDK.
"""
