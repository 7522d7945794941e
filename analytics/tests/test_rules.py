from analytics.rules import funnel


def test_funnel_counts_and_conversion() -> None:
    steps = funnel(
        {"new": 100, "mql": 40, "accepted": 20, "opportunity": 10, "customer": 4},
        {"mql": 5, "customer": 4},
    )
    assert [(s.stage, s.reached, s.current) for s in steps] == [
        ("new", 100, 0),
        ("mql", 40, 5),
        ("accepted", 20, 0),
        ("opportunity", 10, 0),
        ("customer", 4, 4),
    ]
    assert [s.conversion for s in steps] == [None, 0.4, 0.5, 0.5, 0.4]


def test_a_later_stage_implies_the_earlier_ones() -> None:
    steps = funnel({"new": 3, "accepted": 2}, {})
    assert [s.reached for s in steps] == [3, 2, 2, 0, 0]


def test_empty_funnel_has_zero_conversion_not_an_error() -> None:
    assert [s.conversion for s in funnel({}, {})] == [None, 0.0, 0.0, 0.0, 0.0]
