"""The agent runtime: characters become `agents.Agent`s; runs become SDK-neutral events.

`core/runtime` may use the OpenAI Agents SDK as a domain library; provider clients, keys and
sockets live in `services` (see services/providers/registry.py), and are handed in.
"""
