"""The chat's line for a reply that runs without some MCP servers' tools."""

from carrier_studio.core.mcp.status import without_tools_line


def test_servers_left_out_for_one_reason_are_named_together_in_plain_words():
    # Seen on a 4,096-token model: "This reply runs without the tools of: filesystem is left
    # out of this model's requests; sequential-thinking is left out of this model's requests".
    why = "is left out of this model's requests: its tools' descriptions take ~2,100 tokens"
    line = without_tools_line([("filesystem", why), ("sequential-thinking", why)])
    assert line == (
        "This reply runs without the tools of filesystem and sequential-thinking "
        "(left out of this model's requests)"
    )


def test_each_reason_once_in_the_order_met_and_the_detail_left_to_the_tooltip():
    line = without_tools_line(
        [
            ("broken", "failed: cannot reach the database"),
            ("slow", "is still starting"),
            ("github", "failed: 401"),
            ("notes", "is turned off"),
            ("Ada's files", "is left out of this model's requests: …"),
        ]
    )
    assert line == (
        "This reply runs without the tools of broken and github (failed); slow (still "
        "starting); notes (turned off); Ada's files (left out of this model's requests)"
    )
    assert "database" not in line


def test_three_names_read_as_a_list():
    line = without_tools_line([(n, "is turned off") for n in ("a", "b", "c")])
    assert line == "This reply runs without the tools of a, b and c (turned off)"
