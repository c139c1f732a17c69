"""Page arithmetic shared by the console's lists."""


def page_count(total: int, page_size: int) -> int:
    """At least one page, so an empty list still renders."""
    return max(1, -(-total // page_size))
