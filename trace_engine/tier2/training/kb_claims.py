"""Written knowledge bases and agent claims about them, for the ``hallucination`` labeled set.

Each fact is a KB passage and claim templates. A template slot (``{money}``, ``{dur}``, ``{time}``, ``{pct}``,
``{gb}``, ``{n}``, ``{age}``) is filled with the fact's true value (a *supported* claim, rendered in another unit
or spoken: "two weeks" for 14 days, "twenty nine ninety nine" for $29.99, "nine at night" for 21:00) or with a
different value (*contradicted*). ``same`` / ``diff`` list claims without slots (days, negation, quantifiers);
``unsupported`` lists claims on the KB's business that no passage covers. The group of a row is its fact, so
splits hold out whole facts.
"""

from __future__ import annotations

import random
from typing import Any

_W = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
      "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_T = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def words(n: int) -> str:
    if n < 20:
        return _W[n]
    if n < 100:
        return _T[n // 10] + ("" if n % 10 == 0 else " " + _W[n % 10])
    if n < 1000:
        rest = n % 100
        return _W[n // 100] + " hundred" + ("" if rest == 0 else " " + words(rest))
    return words(n // 1000) + " thousand" + ("" if n % 1000 == 0 else " " + words(n % 1000))


def r_money(rng: random.Random, v: float) -> str:
    d, c = int(v), round((v - int(v)) * 100)
    opts = [f"${v:.2f}" if c else f"${d}", f"{v:.2f} dollars" if c else f"{d} dollars"]
    opts.append(f"{words(d)} {words(c)}" if c else f"{words(d)} dollars")
    if c:
        opts.append(f"{words(d)} dollars and {words(c)} cents")
    else:
        opts.append(f"{d} bucks")
    return rng.choice(opts)


def r_dur(rng: random.Random, days: float, unit: str = "day") -> str:
    d = int(days)
    opts = [f"{d} {unit}s", f"{words(d)} {unit}s"]
    if unit == "day":
        if d % 7 == 0:
            w = d // 7
            opts += [f"{words(w)} week{'s' if w > 1 else ''}", "a week" if w == 1 else f"{w} weeks"]
        if d % 30 == 0:
            m = d // 30
            opts += ["a month" if m == 1 else f"{words(m)} months"]
        if d <= 3:
            opts += [f"{d * 24} hours", f"{words(d * 24)} hours"]
    return rng.choice(opts)


def r_time(rng: random.Random, minutes: int) -> str:
    h, m = divmod(minutes, 60)
    h12 = h % 12 or 12
    ap = "am" if h < 12 else "pm"
    mm = "" if m == 0 else f":{m:02d}"
    opts = [f"{h12}{mm} {ap}", f"{words(h12)}{'' if m == 0 else ' ' + words(m)} {'a.m.' if ap == 'am' else 'p.m.'}",
            f"{h:02d}:{m:02d}"]
    if m == 0:
        opts.append(f"{words(h12)} {'in the morning' if ap == 'am' else 'at night' if h >= 20 else 'in the evening'}")
    return rng.choice(opts)


def r_pct(rng: random.Random, v: int) -> str:
    opts = [f"{v}%", f"{words(v)} percent", f"{v} percent"]
    if v == 50:
        opts.append("half")
    return rng.choice(opts)


def r_gb(rng: random.Random, v: int) -> str:
    return rng.choice([f"{v} GB", f"{words(v)} gigs", f"{v} gigabytes", f"{words(v)} gigabytes"])


def r_n(rng: random.Random, v: int) -> str:
    return rng.choice([str(v), words(v)])


RENDER = {"money": r_money, "dur": r_dur, "time": r_time, "pct": r_pct, "gb": r_gb, "n": r_n, "age": r_n}

# fact: passage, slot kind, true value, wrong values, templates using {v}; plus same/diff claims without slots
KBS: dict[str, dict[str, Any]] = {
    "telecom": {"facts": [
        ("The Basic plan costs $29.99 per month and includes 5 GB of data.", "money", 29.99, [24.99, 19.99, 34.99, 39.99],
         ["the basic plan is {v} a month", "basic runs {v} per month", "you'd pay {v} monthly for basic"],
         ["basic comes with five gigs of data", "basic includes 5 GB"], ["basic includes unlimited data", "basic comes with 10 GB"]),
        ("The Unlimited plan costs $65 per month. Autopay saves $5 per month.", "money", 65, [55, 60, 75, 70],
         ["unlimited is {v} a month", "the unlimited plan costs {v} per month"],
         ["autopay knocks five dollars off every month"], ["autopay saves you ten dollars a month", "autopay doesn't give any discount"]),
        ("There is no activation fee for online orders. In-store activation costs $35.", "money", 35, [25, 45, 30],
         ["if you activate in the store it's {v}", "in-store activation is {v}"],
         ["activation is free when you order online", "online orders have no activation fee"],
         ["there's an activation fee on online orders too", "online activation costs thirty five dollars"]),
        ("Customers can return a phone within 14 days of purchase for a full refund.", "dur", 14, [30, 7, 21, 10],
         ["you can return the phone within {v} for a full refund", "you have {v} to bring it back", "returns are accepted for {v} after purchase"],
         [], ["returns are accepted anytime", "phones can't be returned"]),
        ("Customer support is open Monday to Saturday, 8 am to 9 pm Eastern. It is closed on Sundays.", "time", 1260, [1320, 1200, 1080],
         ["support is open until {v}", "you can reach support till {v}", "we close at {v} eastern"],
         ["support is open every day except sunday", "we're closed on sundays", "you can call us monday through saturday"],
         ["support is open seven days a week", "you can call us on sunday", "support is open 24/7"]),
        ("The summer promotion ends on August 31. New lines get 50% off the first three months.", "pct", 50, [40, 25, 30, 60],
         ["new lines get {v} off for the first three months", "you'll save {v} on a new line for three months"],
         ["the summer promo runs through august thirty first"], ["the promotion ends september thirtieth", "new lines get half off for six months"]),
        ("Late payments incur a $7 late fee after a 10-day grace period.", "dur", 10, [5, 15, 30],
         ["you have a {v} grace period before the late fee", "the late fee kicks in after {v}"],
         ["the late fee is seven dollars"], ["there's no late fee", "the late fee is fifteen dollars"]),
        ("Trade-in credit for an eligible phone is up to $300, applied over 24 monthly bill credits.", "money", 300, [400, 250, 500],
         ["you can get up to {v} for an eligible trade in", "trade in credit goes up to {v}"],
         ["the trade in credit is spread over twenty four months"],
         ["every trade in gets three hundred dollars", "you'll get at least three hundred dollars for any phone", "the credit comes as a lump sum right away"]),
        ("Senior plans for customers 55 and older cost $45 per month for two lines.", "age", 55, [60, 65, 50],
         ["the senior plan is for customers {v} and older", "if you're {v} or older you qualify for the senior plan"],
         ["two senior lines are forty five dollars a month"], ["anyone can sign up for the senior plan", "the senior plan is forty five dollars per line"]),
        ("Hotspot use on the Unlimited plan is limited to 15 GB per month.", "gb", 15, [10, 20, 30],
         ["hotspot on unlimited is capped at {v} a month", "you get {v} of hotspot per month on unlimited"],
         [], ["hotspot is unlimited on the unlimited plan", "there's no hotspot on unlimited"]),
    ], "unsupported": ["every plan comes with a free phone case", "we'll waive your first month if you switch today",
                       "all plans include free international roaming", "military families get a free line",
                       "we include disney plus with the basic plan", "we offer a price lock guarantee for five years"]},
    "clinic": {"facts": [
        ("The clinic is open Monday through Friday from 7:30 am to 6 pm and Saturday from 9 am to 1 pm.", "time", 1080, [1140, 1020, 1200],
         ["on weekdays we're open until {v}", "the clinic closes at {v} monday to friday"],
         ["we're open saturday mornings", "we're closed on sundays"], ["we're open on sundays", "we're open every day of the week"]),
        ("A new patient visit costs $150 without insurance.", "money", 150, [100, 120, 200],
         ["without insurance a new patient visit is {v}", "self pay for a first visit is {v}"], [], ["new patient visits are free"]),
        ("Cancellations must be made at least 24 hours before the appointment to avoid a $40 fee.", "money", 40, [25, 50, 60],
         ["the late cancellation fee is {v}", "if you cancel late it's {v}"],
         ["you need to cancel a day ahead to avoid the fee", "cancel at least twenty four hours before and there's no fee"],
         ["you can cancel an hour before with no fee", "there's no cancellation fee"]),
        ("Lab results are usually posted to the patient portal within 3 business days.", "dur", 3, [7, 1, 10, 5],
         ["lab results show up in the portal within {v}", "you'll see your labs online in about {v}"], [],
         ["lab results are mailed, not posted online"]),
        ("Prescription refill requests take up to 48 hours to process.", "dur", 2, [1, 3, 5],
         ["refills take up to {v} to process", "a refill request is processed within {v}"], [],
         ["refills are processed instantly", "we can't do refills over the phone or portal"]),
        ("Flu shots are free for patients with insurance and cost $35 otherwise.", "money", 35, [25, 45, 20],
         ["without insurance the flu shot is {v}", "a flu shot costs {v} if you're uninsured"],
         ["with insurance your flu shot is free"], ["everyone pays for flu shots", "flu shots are free for everyone"]),
        ("Telehealth visits are available for established patients only.", None, None, [], [],
         ["video visits are for existing patients"], ["anyone can book a telehealth visit", "new patients can do their first visit by video"]),
        ("Parking in the clinic garage is free for the first two hours.", "n", 2, [3, 1, 4],
         ["the first {v} hours of parking are free", "you get {v} hours of free parking"], [], ["parking is always free", "parking costs five dollars an hour from the start"]),
    ], "unsupported": ["we offer free dental cleanings with every physical", "our doctors do house calls on weekends",
                       "we validate parking for the whole day", "we guarantee same day appointments for everyone",
                       "the clinic gives a ten percent discount for paying cash"]},
    "restaurant": {"facts": [
        ("The restaurant is open Tuesday to Sunday from 11 am to 10 pm and closed on Mondays.", "time", 1320, [1380, 1260, 1440],
         ["we serve until {v}", "the kitchen is open till {v}"],
         ["we're closed mondays", "we're open tuesday through sunday"], ["we're open on mondays", "we're open seven days a week"]),
        ("Reservations are required for parties of 8 or more.", "n", 8, [6, 10, 12],
         ["you need a reservation for groups of {v} or more", "parties of {v} or more have to reserve"], [],
         ["we don't take reservations", "reservations are required for every table"]),
        ("A 20% service charge is added to parties of 6 or more.", "pct", 20, [15, 18, 25],
         ["large parties get a {v} service charge", "there's a {v} service charge for six or more"], [],
         ["we never add a service charge"]),
        ("Happy hour runs weekdays from 3 pm to 6 pm with half-price appetizers.", "time", 1080, [1140, 1020],
         ["happy hour ends at {v}", "happy hour goes until {v} on weekdays"], ["appetizers are half off during happy hour"],
         ["happy hour is on weekends too", "drinks are half price all day"]),
        ("Corkage is $25 per bottle, with a limit of two bottles per table.", "money", 25, [15, 20, 30],
         ["corkage is {v} a bottle", "we charge {v} per bottle for corkage"], ["you can bring up to two bottles"],
         ["corkage is free", "you can bring as many bottles as you want"]),
        ("All desserts are made in house and the kitchen offers gluten-free pasta.", None, None, [], [],
         ["we make every dessert here", "gluten free pasta is available"], ["our desserts come from a bakery", "we don't have any gluten free options"]),
    ], "unsupported": ["kids eat free on tuesdays", "we offer free valet parking", "every guest gets a free glass of wine",
                       "we deliver within five miles at no charge"]},
    "bank": {"facts": [
        ("The savings account pays 4.10% APY on balances of $1,000 or more.", "pct", 4.1, [4.5, 3.1, 5.0],
         ["the savings account earns {v} apy", "you'll get {v} on savings above a thousand"], ["the rate applies once you have a thousand dollars saved"],
         ["the rate applies to any balance", "there's no minimum for the savings rate"]),
        ("The monthly maintenance fee is $12, waived with a $1,500 minimum daily balance.", "money", 12, [10, 15, 8],
         ["the monthly fee is {v}", "maintenance costs {v} a month"], ["keep fifteen hundred in the account and the fee is waived"],
         ["there's no monthly fee on any account", "the fee is waived with any balance"]),
        ("Wire transfers sent before 4 pm Eastern are processed the same business day.", "time", 960, [1020, 900, 1080],
         ["wires sent before {v} go out the same day", "the cutoff for same day wires is {v}"], [],
         ["wires are processed on weekends", "all wires take three days"]),
        ("Mobile check deposits up to $5,000 are available the next business day.", "money", 5000, [10000, 2500, 3000],
         ["you can deposit up to {v} by mobile", "mobile deposits up to {v} clear the next business day"], [],
         ["mobile deposits are available instantly", "there's no limit on mobile deposits"]),
        ("Overdraft fees are $35 per item, with a maximum of three per day.", "money", 35, [25, 30, 45],
         ["an overdraft costs {v} per item", "the overdraft fee is {v}"], ["you'll never get more than three overdraft fees in a day"],
         ["there's no limit on overdraft fees", "we don't charge overdraft fees"]),
        ("Debit card replacements arrive in 7 to 10 business days.", "dur", 10, [3, 5, 14],
         ["a new debit card arrives within {v}", "card replacements take up to {v}"], ["your new card comes in seven to ten business days"],
         ["we can overnight a new card for free", "the new card arrives tomorrow"]),
    ], "unsupported": ["we match any competitor's savings rate", "new accounts get a two hundred dollar bonus",
                       "all our credit cards have no annual fee", "we reimburse all atm fees worldwide"]},
    "airline": {"facts": [
        ("The first checked bag costs $35 and the second costs $45 on domestic flights.", "money", 35, [30, 25, 40],
         ["your first checked bag is {v}", "the first bag costs {v} on domestic flights"], ["a second bag is forty five dollars"],
         ["checked bags are free on domestic flights", "the second bag is thirty five dollars"]),
        ("Check-in closes 45 minutes before departure for domestic flights.", "n", 45, [30, 60, 20],
         ["check in closes {v} minutes before departure", "you have to check in at least {v} minutes before you fly"], [],
         ["you can check in right up until boarding"]),
        ("Carry-on bags must weigh no more than 22 pounds.", "n", 22, [30, 25, 15],
         ["carry ons can weigh up to {v} pounds", "the carry on limit is {v} pounds"], [], ["there's no weight limit on carry ons"]),
        ("Tickets can be cancelled for a full refund within 24 hours of booking.", "dur", 1, [2, 3, 7],
         ["you can cancel within {v} of booking for a full refund", "there's a {v} window to cancel for a full refund"], [],
         ["all tickets are nonrefundable", "you can cancel anytime for a full refund"]),
        ("Pets under 20 pounds may travel in the cabin for a $125 fee each way.", "money", 125, [100, 150, 95],
         ["a pet in the cabin is {v} each way", "the in cabin pet fee is {v}"], ["small pets can fly in the cabin"],
         ["pets fly free", "dogs of any size can ride in the cabin"]),
    ], "unsupported": ["every passenger gets free wifi", "we offer free upgrades to first class for members",
                       "meals are included on all domestic flights", "we give a voucher if your flight is late at all"]},
}

LEADS = ["", "so ", "okay, ", "yes, ", "great question, ", "sure, ", "just so you know, ", "right, "]
NON_CLAIMS = ["can i get your account number?", "what's the best number to reach you?", "is there anything else i can help with?",
              "your balance is forty two dollars and ten cents", "your order number is four four one nine two",
              "let me check on that for you", "your appointment is tuesday at three", "thanks for calling, have a great day",
              "i see here your last payment was on the fifth", "could you spell your last name?",
              "your confirmation code is x y seven two", "one moment while i pull that up",
              "your flight leaves from gate twelve", "i've updated your address", "would you like me to email that to you?"]


def _fill(rng: random.Random, kind: str, value: float, template: str, unit_days: bool) -> str:
    if kind == "dur":
        text = r_dur(rng, value)
    elif kind == "money":
        text = r_money(rng, value)
    elif kind == "pct":
        text = r_pct(rng, int(value)) if value == int(value) else rng.choice([f"{value}%", f"{value} percent"])
    else:
        text = RENDER[kind](rng, int(value))
    return template.replace("{v}", text)


def examples(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for kb_name, kb in KBS.items():
        for fi, (_passage, kind, value, wrong, templates, same, diff) in enumerate(kb["facts"]):
            group = f"hall-{kb_name}-{fi}"

            def add(text: str, label: bool, category: str, group: str = group, kb_name: str = kb_name) -> None:
                out.append({"kb": kb_name, "turns": [["caller", "can you tell me about that?"],
                                                     ["agent", rng.choice(LEADS) + text]],
                            "label": label, "category": category, "group": group})

            for t in templates:
                for _ in range(4):
                    add(_fill(rng, kind, value, t, True), False, "supported")
                for w in wrong:
                    add(_fill(rng, kind, w, t, True), True, "contradicted")
            for t in same:
                for _ in range(2):
                    add(t, False, "supported")
            for t in diff:
                for _ in range(2):
                    add(t, True, "contradicted")
        for ui, t in enumerate(kb["unsupported"]):
            for _ in range(3):
                out.append({"kb": kb_name, "turns": [["caller", "anything else i should know?"],
                                                     ["agent", rng.choice(LEADS) + t]],
                            "label": True, "category": "unsupported", "group": f"hall-{kb_name}-u{ui}"})
        for ni, t in enumerate(NON_CLAIMS):
            out.append({"kb": kb_name, "turns": [["caller", "okay"], ["agent", t]], "label": False,
                        "category": "not_a_kb_claim", "group": f"hall-nonclaim-{ni}"})
    return out


def passages(kb_name: str) -> list[str]:
    """The KB's passages (telecom: the shipped example ``tests/data/tier2/knowledge_base.json``, a superset of
    its facts)."""
    import json
    from pathlib import Path

    if kb_name == "telecom":
        path = Path(__file__).resolve().parents[3] / "tests" / "data" / "tier2" / "knowledge_base.json"
        return json.loads(path.read_text(encoding="utf-8"))["passages"]
    return [f[0] for f in KBS[kb_name]["facts"]]
