"""Character tests: scenario files, what a run produced, and how expectations judge it.

`model` is the scenario as written (parsed from YAML with file and line kept for errors),
`record` what one run of it on one model produced (SDK-neutral, from the chat runtime's events),
`expectations` the checks that compare the two. Services run scenarios (services/scenarios).
"""
