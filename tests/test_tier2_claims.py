"""Claim normalisation and comparison (trace_engine.tier2.claims): units, spoken numbers, ranges, days, negation
and quantifiers."""

from __future__ import annotations

import pytest

from trace_engine.tier2.claims import compare, extract

RETURNS = "Customers can return a phone within 14 days of purchase for a full refund."
HOURS = "Customer support is open Monday to Saturday, 8 am to 9 pm Eastern. It is closed on Sundays."
BASIC = "The Basic plan costs $29.99 per month and includes 5 GB of data."
TRADE = "Trade-in credit for an eligible phone is up to $300, applied over 24 monthly bill credits."
PROMO = "The summer promotion ends on August 31. New lines get 50% off the first three months."
SENIOR = "Senior plans for customers 55 and older cost $45 per month for two lines."
REFUND = "Refunds are issued to the original payment method within 7 to 10 business days."

CASES = [
    (RETURNS, "you have two weeks to return it", "supported"),
    (RETURNS, "you've got 336 hours to return it", "supported"),
    (RETURNS, "you can send it back within fourteen days", "supported"),
    (RETURNS, "returns are accepted within thirty days", "contradicted"),
    (RETURNS, "you have a month to return it", "contradicted"),
    (HOURS, "we're open until nine at night", "supported"),
    (HOURS, "you can call us every day except sunday from eight to nine", "supported"),
    (HOURS, "support runs monday through friday", "supported"),
    (HOURS, "we close at ten pm", "contradicted"),
    (HOURS, "we open at 7 am", "contradicted"),
    (HOURS, "support is open seven days a week", "contradicted"),
    (HOURS, "we're open sundays too", "contradicted"),
    (BASIC, "basic is twenty nine ninety nine a month", "supported"),
    (BASIC, "basic is twenty nine dollars and ninety nine cents", "supported"),
    (BASIC, "basic comes with five gigs", "supported"),
    (BASIC, "the basic plan is $24.99 per month", "contradicted"),
    (BASIC, "basic is 39.99 a month", "contradicted"),
    (BASIC, "basic includes 10 GB", "contradicted"),
    (TRADE, "you can get up to three hundred dollars in trade in credit", "supported"),
    (TRADE, "you'll get three hundred dollars for your trade in", "contradicted"),
    (TRADE, "at least $300 for any phone", "contradicted"),
    (PROMO, "new lines get half off for three months", "supported"),
    (PROMO, "the promo ends august thirty first", "supported"),
    (PROMO, "new lines get 50% off for six months", "contradicted"),
    (PROMO, "forty percent off new lines", "contradicted"),
    (PROMO, "the promo ends september first", "contradicted"),
    (SENIOR, "anyone fifty five or older can get the senior plan", "supported"),
    (SENIOR, "seniors 65 and up qualify", "contradicted"),
    (SENIOR, "all customers can get the senior plan for forty five dollars", "contradicted"),
    (REFUND, "refunds take seven to ten business days", "supported"),
    (REFUND, "refunds take up to ten business days", "supported"),
    (REFUND, "you'll get the refund in three days", "contradicted"),
]


@pytest.mark.parametrize(("kb", "claim", "want"), CASES, ids=[c[1] for c in CASES])
def test_compare(kb: str, claim: str, want: str) -> None:
    assert compare(extract(claim), extract(kb))[0] == want


def test_nothing_comparable_is_no_verdict() -> None:
    assert compare(extract("let me pull up your account"), extract(BASIC))[0] is None


def test_normalised_values() -> None:
    q = extract("refunds take seven to ten business days").quantities
    assert [(x.kind, x.lo, x.hi, x.op) for x in q] == [("duration", 7.0, 10.0, "range")]
    q = extract("twenty nine dollars and ninety nine cents").quantities
    assert [(x.kind, round(x.lo, 2)) for x in q] == [("money", 29.99)]
    c = extract("we are closed on sundays")
    assert c.closed_days == {"sunday"} and c.negated
    assert extract("anyone can sign up").universal
