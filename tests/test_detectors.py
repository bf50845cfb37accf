"""Built-in PII detectors: written and spoken forms, validators, exact original spans, robustness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trace_engine.ir import DETECTORS as IR_DETECTORS
from trace_engine.text import (
    DETECTORS,
    DetectorHit,
    aba_ok,
    canonical_exempt,
    detect,
    detect_all,
    luhn_ok,
    mbi_ok,
    nanp_ok,
    normalize,
    ssn_ok,
)


def found(kind: str, text: str, exempt=frozenset()) -> list[tuple[str, str]]:
    """(original substring, value) of each hit."""
    hits = detect(kind, normalize(text), exempt)
    for h in hits:
        assert isinstance(h, DetectorHit) and h.kind == kind
        assert 0 <= h.start < h.end <= len(text)
    return [(text[h.start : h.end], h.value) for h in hits]


def test_registry_matches_ir() -> None:
    assert set(DETECTORS) == set(IR_DETECTORS)


# ------------------------------------------------------------------------------------------- validators


@pytest.mark.parametrize(
    "digits, ok",
    [
        ("4111111111111111", True),
        ("5500005555555559", True),
        ("378282246310005", True),
        ("6011111111111117", True),
        ("4222222222222", True),
        ("4111111111111112", False),
        ("", False),
        ("0", False),
        ("41x1", False),
        ("٤١", False),
    ],
)
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok


@pytest.mark.parametrize(
    "d, ok",
    [
        ("123456789", True),
        ("000123456", False),
        ("666123456", False),
        ("900123456", False),
        ("999123456", False),
        ("123004567", False),
        ("123450000", False),
        ("078051120", False),
        ("219099999", False),
        ("12345678", False),
    ],
)
def test_ssn_ok(d: str, ok: bool) -> None:
    assert ssn_ok(d) is ok


@pytest.mark.parametrize(
    "d, ok",
    [
        ("4155550198", True),
        ("2125551234", True),
        ("9115550198", False),
        ("4115550198", False),
        ("1155550198", False),
        ("0155550198", False),
        ("4151550198", False),
        ("4150550198", False),
        ("415555019", False),
    ],
)
def test_nanp_ok(d: str, ok: bool) -> None:
    assert nanp_ok(d) is ok


@pytest.mark.parametrize(
    "d, ok",
    [
        ("021000021", True),
        ("011000015", True),
        ("322271627", True),
        ("021000022", False),
        ("131000019", False),  # prefix 13 is not assigned (and checksum aside)
        ("02100002", False),
    ],
)
def test_aba_ok(d: str, ok: bool) -> None:
    assert aba_ok(d) is ok


@pytest.mark.parametrize(
    "s, ok",
    [
        ("1EG4TE5MK73", True),
        ("1eg4te5mk73", True),
        ("9AA0AA0AA00", True),
        ("0EG4TE5MK73", False),  # C must be 1-9
        ("1SG4TE5MK73", False),  # S excluded
        ("1EG4TE5MK7", False),
        ("1EG4-TE5-MK73", False),  # separators are the detector's job
        ("1EGATE5MK73", False),  # position 4 must be a digit
    ],
)
def test_mbi_ok(s: str, ok: bool) -> None:
    assert mbi_ok(s) is ok


# ------------------------------------------------------------------------------------------- credit card


@pytest.mark.parametrize(
    "text, expected",
    [
        ("card 4111 1111 1111 1111 thanks", [("4111 1111 1111 1111", "4111111111111111")]),
        ("4111-1111-1111-1111", [("4111-1111-1111-1111", "4111111111111111")]),
        ("4111 1111 1111 1111 12 25", [("4111 1111 1111 1111", "4111111111111111")]),
        ("4111111111111111.", [("4111111111111111", "4111111111111111")]),
        ("amex 3782 822463 10005", [("3782 822463 10005", "378282246310005")]),
        ("visa 4222222222222 ok", [("4222222222222", "4222222222222")]),
        (
            "it's four one one one, one one one one, one one one one, one one one one okay",
            [("four one one one, one one one one, one one one one, one one one one", "4111111111111111")],
        ),
        (
            "four one one one uh one one one one, one one one one, one one um one one",
            [
                (
                    "four one one one uh one one one one, one one one one, one one um one one",
                    "4111111111111111",
                )
            ],
        ),
        (
            "4111-1111-1111-1111, expires 12/25",
            [("4111-1111-1111-1111", "4111111111111111")],
        ),
        (
            "4111-1111-1111-1111-12-25",  # a longer run still yields the aligned valid card
            [("4111-1111-1111-1111", "4111111111111111")],
        ),
        (
            "5500 0055 5555 5559 and 4111-1111-1111-1111",
            [("5500 0055 5555 5559", "5500005555555559"), ("4111-1111-1111-1111", "4111111111111111")],
        ),
        ("4111 1111 1111 1112", []),  # Luhn-invalid
        ("411111111111111111111111", []),  # one long token, no aligned card inside
        ("4111 1111 1111", []),  # too short
        ("my number is 415 555 0198", []),
        ("it costs $4111.11", []),
    ],
)
def test_credit_card(text: str, expected) -> None:
    assert found("credit_card", text) == expected


def test_credit_card_any_luhn_valid_prefix() -> None:
    # no issuer (IIN) table by design: any Luhn-valid 13-19 digit window is a card (see the module docstring)
    assert found("credit_card", "1748503543012") == [("1748503543012", "1748503543012")]
    assert found("credit_card", "2221 0000 0000 0009") == [("2221 0000 0000 0009", "2221000000000009")]


def test_credit_card_exempt() -> None:
    assert found("credit_card", "4111-1111-1111-1111", exempt={"4111 1111 1111 1111"}) == []


# ------------------------------------------------------------------------------------------- ssn / aba


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ssn 123-45-6789.", [("123-45-6789", "123456789")]),
        ("ssn 123456789", [("123456789", "123456789")]),
        ("it's 123 45 6789", [("123 45 6789", "123456789")]),
        (
            "my social is one two three, four five, six seven eight nine",
            [("one two three, four five, six seven eight nine", "123456789")],
        ),
        (
            "one two three four five six seven eight nine",
            [("one two three four five six seven eight nine", "123456789")],
        ),
        ("000-12-3456", []),
        ("666-12-3456", []),
        ("900-12-3456", []),
        ("123-00-4567", []),
        ("123-45-0000", []),
        ("078-05-1120", []),
        ("219-09-9999", []),
        ("123-45-67890", []),  # part of a longer run
        ("1-123-45-6789", []),  # dashed into a longer written number
        # a separate group before it does not hide it (windows inside the run, not the whole run)
        ("1 123-45-6789", [("123-45-6789", "123456789")]),
        ("routing number 322271627", []),  # valid ABA introduced as routing: not an SSN
        ("aba 322-271-627", []),
        ("my ssn is 322271627", [("322271627", "322271627")]),  # no routing context
    ],
)
def test_ssn(text: str, expected) -> None:
    assert found("ssn", text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("routing number 021000021", [("021000021", "021000021")]),
        (
            "the routing is zero two one, zero zero zero, zero two one",
            [("zero two one, zero zero zero, zero two one", "021000021")],
        ),
        ("routing number 322271627", [("322271627", "322271627")]),
        ("021000022", []),
        ("0210000210", []),
        ("131000017", []),
    ],
)
def test_aba_routing(text: str, expected) -> None:
    assert found("aba_routing", text) == expected


# ------------------------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    "text, expected",
    [
        ("call (415) 555-0198 now", [("(415) 555-0198", "4155550198")]),
        ("415.555.0198", [("415.555.0198", "4155550198")]),
        ("415-555-0198.", [("415-555-0198", "4155550198")]),
        ("+1 415 555 0198", [("+1 415 555 0198", "4155550198")]),
        ("1-800-555-0199", [("1-800-555-0199", "8005550199")]),
        ("4155550198", [("4155550198", "4155550198")]),
        (
            "four one five, five five five, zero one nine eight",
            [("four one five, five five five, zero one nine eight", "4155550198")],
        ),
        (
            "it's four one five five five five zero one nine eight thanks",
            [("four one five five five five zero one nine eight", "4155550198")],
        ),
        (
            "four one five five five five oh one nine eight",
            [("four one five five five five oh one nine eight", "4155550198")],
        ),
        (
            "four one five double five five oh one nine eight",
            [("four one five double five five oh one nine eight", "4155550198")],
        ),
        (
            "four one five, uh, five five five, zero one nine eight",
            [("four one five, uh, five five five, zero one nine eight", "4155550198")],
        ),
        (
            "four fifteen five five five oh one nine eight",
            [("four fifteen five five five oh one nine eight", "4155550198")],
        ),
        (
            "415-555-0198 or 212-555-0100",
            [("415-555-0198", "4155550198"), ("212-555-0100", "2125550100")],
        ),
        ("911-555-0198", []),  # N11 area code
        ("411 555 0198", []),
        ("415-155-0198", []),  # exchange starts with 1
        ("555-0198", []),  # 7 digits: not enough
        ("2-415-555-0198", []),  # 11 digits not starting with 1
        ("4111-1111-1111-1111", []),
    ],
)
def test_us_phone(text: str, expected) -> None:
    assert found("us_phone", text) == expected


# ------------------------------------------------------------------------------------------- digit runs


@pytest.mark.parametrize(
    "kind, text, expected",
    [
        # bug 2: a comma (or sentence punctuation) between written groups ends the run
        ("us_phone", "We are open 9 to 5, 415-555-0132.", [("415-555-0132", "4155550132")]),
        ("ssn", "my ssn is 078-05-1121, 2 kids", [("078-05-1121", "078051121")]),
        ("ssn", "The location is 4175, 42151 Blacow Road.", []),
        ("ssn", "it was 123. 45 6789 later", []),
        ("us_phone", "Room 12; 415 555 0132", [("415 555 0132", "4155550132")]),
        ("us_phone", "call 5! 415.555.0132", [("415.555.0132", "4155550132")]),
        # windows inside a run: two numbers side by side are both found
        ("ssn", "078-05-1121 078-05-1121", [("078-05-1121", "078051121"), ("078-05-1121", "078051121")]),
        (
            "us_phone",
            "415-555-0198 212-555-0100",
            [("415-555-0198", "4155550198"), ("212-555-0100", "2125550100")],
        ),
        ("us_phone", "open 9 to 5 415-555-0132", [("415-555-0132", "4155550132")]),
        (
            "aba_routing",
            "021000021 322271627",
            [("021000021", "021000021"), ("322271627", "322271627")],
        ),
        # spoken digits split by commas are still one number
        (
            "us_phone",
            "it's four one five, five five five, zero one nine eight, thanks",
            [("four one five, five five five, zero one nine eight", "4155550198")],
        ),
        (
            "ssn",
            "the ssn on file is oh seven eight, oh five, one one two one.",
            [("oh seven eight, oh five, one one two one", "078051121")],
        ),
        # a written group dashed onto the window makes a longer number
        ("us_phone", "2-415-555-0198", []),
        ("ssn", "123-45-6789-01", []),
        # another country's code before ten digits
        ("us_phone", "+91 4155550132", []),
        ("us_phone", "+44 4155550132 or +1 415 555 0132", [("+1 415 555 0132", "4155550132")]),
    ],
)
def test_digit_run_segments_and_windows(kind: str, text: str, expected) -> None:
    assert found(kind, text) == expected


@pytest.mark.parametrize(
    "kind, text, expected",
    [
        # digits dictated one by one and transcribed as numerals count as spoken: commas do not cut them
        (
            "ssn",
            "confirming social security number 2 1 9, 4 4, 3 3 2 1 for the account",
            [("2 1 9, 4 4, 3 3 2 1", "219443321")],
        ),
        ("us_phone", "my number is 4 1 5, 5 5 5, 0 1 3 2.", [("4 1 5, 5 5 5, 0 1 3 2", "4155550132")]),
        ("us_phone", "4 1 5 5 5 5 0 1 3 2", [("4 1 5 5 5 5 0 1 3 2", "4155550132")]),
        # a lone single digit is still a written group
        ("ssn", "call them at 1 40 62 05 00", []),
        # ABA written groupings: 9, 4-4-1, 3-3-3
        ("aba_routing", "0711-0130-7", [("0711-0130-7", "071101307")]),
        ("aba_routing", "routing 021 000 021", [("021 000 021", "021000021")]),
        ("aba_routing", "02 1000 021", []),
        # windows after another country's code are part of an international number
        ("aba_routing", "The hotel's phone number is +60 3-2268 3888", []),
        ("aba_routing", "they can be reached at +61 2 9265 8888.", []),
        ("ssn", "+33 140 62 0500", []),
    ],
)
def test_dictated_numerals_aba_groupings_international(kind: str, text: str, expected) -> None:
    assert found(kind, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # bug 3: written 9-digit numbers grouped unlike an SSN (foreign phone numbers)
        ("call them at 1 40 62 05 00", []),
        ("You can call them at 2 8765 2000.", []),
        ("The phone number is 3-2333 1888.", []),
        ("12-559 9034", []),
        ("21 481 3938", []),
        ("1234 56789", []),
        # SSN groupings
        ("123-45-6789", [("123-45-6789", "123456789")]),
        ("123 45 6789", [("123 45 6789", "123456789")]),
        ("123456789", [("123456789", "123456789")]),
        ("078.05.1123", [("078.05.1123", "078051123")]),
        # another grouping only with SSN context right before it
        ("my ssn is 078-051121", [("078-051121", "078051121")]),
        ("social security number 07805-1121", [("07805-1121", "078051121")]),
        ("078-051121 07805-1121", []),
        # spoken digits may be grouped any way
        (
            "one two, three four five, six seven eight nine",
            [("one two, three four five, six seven eight nine", "123456789")],
        ),
        (
            "one two three four five six seven eight nine",
            [("one two three four five six seven eight nine", "123456789")],
        ),
        (
            "12 three four five six seven eight nine",
            [("12 three four five six seven eight nine", "123456789")],
        ),
    ],
)
def test_ssn_written_grouping(text: str, expected) -> None:
    assert found("ssn", text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(415) 555-0132", [("(415) 555-0132", "4155550132")]),
        ("425 8829090", [("425 8829090", "4258829090")]),
        ("14155550132", [("14155550132", "4155550132")]),
        ("1 4155550132", [("1 4155550132", "4155550132")]),
        ("1-800-555-0199", [("1-800-555-0199", "8005550199")]),
        # written numbers grouped unlike a US phone (Mexico City, India, …)
        ("Their phone number is 55 5395 4586", []),
        ("contact them at 83770 02902", []),
        ("contact them on 21 2753-9489", []),
        ("4155 550132", []),
        # spoken: any grouping
        (
            "four one, five five five five, oh one three two",
            [("four one, five five five five, oh one three two", "4155550132")],
        ),
    ],
)
def test_us_phone_written_grouping(text: str, expected) -> None:
    assert found("us_phone", text) == expected


@pytest.mark.parametrize("exempt", [{"4155550198"}, {"(415) 555-0198"}, {"+1 415 555 0198"}, ["14155550198"]])
def test_us_phone_exempt_callback(exempt) -> None:
    text = "call us back at 415-555-0198 or at 212-555-0100"
    assert found("us_phone", text, exempt=exempt) == [("212-555-0100", "2125550100")]


def test_canonical_exempt() -> None:
    assert canonical_exempt("us_phone", ["+1 (415) 555-0198", "212.555.0100"]) == {"4155550198", "2125550100"}
    assert canonical_exempt("email", [" Jane@Example.com "]) == {"jane@example.com"}
    assert canonical_exempt("mbi", ["1eg4-te5-mk73"]) == {"1EG4TE5MK73"}


# ------------------------------------------------------------------------------------------- email


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mail jane.doe@example.com.", [("jane.doe@example.com", "jane.doe@example.com")]),
        ("Jane.Doe@Example.COM", [("Jane.Doe@Example.COM", "jane.doe@example.com")]),
        ("jane dot doe at example dot com", [("jane dot doe at example dot com", "jane.doe@example.com")]),
        (
            "it's jane dot doe at example dot com, thanks",
            [("jane dot doe at example dot com", "jane.doe@example.com")],
        ),
        ("reach jane at gmail dot com", [("jane at gmail dot com", "jane@gmail.com")]),
        (
            "john underscore smith at mail dot example dot org",
            [("john underscore smith at mail dot example dot org", "john_smith@mail.example.org")],
        ),
        ("a dash b at c dot io", [("a dash b at c dot io", "a-b@c.io")]),
        ("(my-name+tag@my-site.co.uk)", [("my-name+tag@my-site.co.uk", "my-name+tag@my-site.co.uk")]),
        ("jane_doe@x.io", [("jane_doe@x.io", "jane_doe@x.io")]),
        ("jane.doe at example.com", [("jane.doe at example.com", "jane.doe@example.com")]),
        ("bob@example.com.evil", [("bob@example.com", "bob@example.com")]),
        ("user123@site.health", [("user123@site.health", "user123@site.health")]),
        ("email me at example dot com", []),
        ("look at google dot com", []),
        ("send it to us at example dot com", []),
        ("meet at noon dot", []),
        ("jane at example dot invalid", []),
        ("jane@example", []),
        # a written '@' with spaces reads like a spoken "at" (the domain must end in a built-in TLD)
        ("jane @ example.com", [("jane @ example.com", "jane@example.com")]),
        ("jane @ example.zz", []),
        ("@example.com", []),
        ("we arrived at the hotel", []),
        ("one two three at gmail dot com", [("one two three at gmail dot com", "123@gmail.com")]),
    ],
)
def test_email(text: str, expected) -> None:
    assert found("email", text) == expected


def test_email_exempt() -> None:
    assert found("email", "write support@acme.com", exempt={"Support@Acme.com"}) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        # bug 1: a written '@' glued on both sides accepts any alphabetic TLD of 2+ letters
        ("jane@example.de", [("jane@example.de", "jane@example.de")]),
        ("write info@presidio.site today", [("info@presidio.site", "info@presidio.site")]),
        ("bob@shop.xyz", [("bob@shop.xyz", "bob@shop.xyz")]),
        ("a@b.online.", [("a@b.online", "a@b.online")]),
        ("Mail@Example.Museum", [("Mail@Example.Museum", "mail@example.museum")]),
        (
            "info@presidio.site or anotherinfo@presidio.site",
            [
                ("info@presidio.site", "info@presidio.site"),
                ("anotherinfo@presidio.site", "anotherinfo@presidio.site"),
            ],
        ),
        # punycode labels ("--" inside a label)
        ("me@xn--bcher-kva.example", [("me@xn--bcher-kva.example", "me@xn--bcher-kva.example")]),
        (
            "my email is user@xn--80ak6aa92e.com today",
            [("user@xn--80ak6aa92e.com", "user@xn--80ak6aa92e.com")],
        ),
        ("a@xn--d1acufc.xn--p1ai", [("a@xn--d1acufc.xn--p1ai", "a@xn--d1acufc.xn--p1ai")]),
        # a sentence glued to the address stops at the last built-in / two-letter TLD
        ("bob@example.com.Thanks", [("bob@example.com", "bob@example.com")]),
        ("bob@example.de.Thanks", [("bob@example.de", "bob@example.de")]),
        # not a TLD: one letter, digits, nothing after the dot
        ("jane@example.x", []),
        ("jane@example.123", []),
        ("my email is info@presidio.", []),
        ("xn--bcher-kva.example", []),  # no '@'
        ("jane @ example.de", []),  # '@' not glued
        # the spoken form keeps the built-in TLD list (the TLD is the only evidence there)
        ("jane at example dot de", []),
        ("we met at the cafe dot site", []),
        ("jane at example dot com", [("jane at example dot com", "jane@example.com")]),
    ],
)
def test_email_written_any_tld(text: str, expected) -> None:
    assert found("email", text) == expected


# ------------------------------------------------------------------------------------------- mbi


@pytest.mark.parametrize(
    "text, expected",
    [
        ("MBI 1EG4-TE5-MK73.", [("1EG4-TE5-MK73", "1EG4TE5MK73")]),
        ("mbi is 1eg4te5mk73", [("1eg4te5mk73", "1EG4TE5MK73")]),
        ("1EG4 TE5 MK73", [("1EG4 TE5 MK73", "1EG4TE5MK73")]),
        ("one e g four t e five m k seven three", [("one e g four t e five m k seven three", "1EG4TE5MK73")]),
        (
            "it is one e g four, t e five, m k seven three okay",
            [("one e g four, t e five, m k seven three", "1EG4TE5MK73")],
        ),
        ("0EG4-TE5-MK73", []),
        ("1SG4-TE5-MK73", []),  # S is excluded
        ("1EG4-TE5-MK7", []),
        ("hello there how are you", []),
    ],
)
def test_mbi(text: str, expected) -> None:
    assert found("mbi", text) == expected


def test_mbi_inside_merged_digit_run() -> None:
    # spoken digits after the MBI merge with its last two digits ("seven three four" -> "734"); the
    # detector splits digit tokens back into characters
    text = "one e g four t e five m k seven three four"
    # the span covers the whole merged token (its words cannot be split back exactly)
    assert found("mbi", text) == [(text, "1EG4TE5MK73")]
    # a written digit token is split exactly
    assert found("mbi", "code 51 e g 4 t e 5 m k 73") == [("1 e g 4 t e 5 m k 73", "1EG4TE5MK73")]
    assert found("mbi", "id 1EG4-TE5-MK732") == []  # "mk732" is one mixed token: no boundary inside


# ------------------------------------------------------------------------------------------- detect_all


def test_detect_all_sorted_and_exempt() -> None:
    text = "card 4111-1111-1111-1111, phone (415) 555-0198, email jane@x.com, ssn 123-45-6789"
    hits = detect_all(normalize(text), DETECTORS, {"us_phone": ["415-555-0198"]})
    assert [(h.kind, text[h.start : h.end]) for h in hits] == [
        ("credit_card", "4111-1111-1111-1111"),
        ("email", "jane@x.com"),
        ("ssn", "123-45-6789"),
    ]
    hits = detect_all(normalize(text), ["us_phone"])
    assert [(h.kind, h.value) for h in hits] == [("us_phone", "4155550198")]


def test_unknown_kind() -> None:
    with pytest.raises(KeyError):
        detect("passport", normalize("x"))


# ------------------------------------------------------------------------------------------- robustness

_alphabet = st.sampled_from(
    list("0123456789 -.,()+@_:/abceg$%\x00😀\n")
    + ["\ud800", " one ", " oh ", " double ", " dot ", " at ", " com ", " uh ", " routing ", " e ", " k "]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=150), st.lists(_alphabet, max_size=80).map("".join)))
def test_detectors_never_raise(text: str) -> None:
    nt = normalize(text)
    for h in detect_all(nt):
        assert 0 <= h.start < h.end <= len(text)
        assert h.kind in DETECTORS


@pytest.mark.parametrize(
    "text, expected",
    [
        ("call 5551234 x at:30", []),
        ("415 555 0198 x ab-12-2020", [("us_phone", "4155550198")]),
        ("078 05 1121 x s123-07-12", [("ssn", "078051121")]),
        ("4111 1111 1111 1111 x of/07/12", [("credit_card", "4111111111111111")]),
    ],
)
def test_a_word_before_a_time_or_date_is_no_date(text: str, expected) -> None:
    """A word glued to a digit group by ":" "-" "/" "." once made the date/time scan read it as a number (and
    raise, failing the turn open)."""
    assert [(h.kind, h.value) for h in detect_all(normalize(text))] == expected


@pytest.mark.parametrize(
    "big",
    [
        "4111-" * 40_000,
        "1 " * 100_000,
        "1-" * 100_000,
        "1" * 200_000,
        "one " * 50_000,
        "1e" * 100_000,
        "1 e " * 50_000,
        "a at b dot " * 20_000,
        "x@" * 100_000,
        "a.b" * 60_000,
    ],
)
def test_adversarial_inputs_finish(big: str) -> None:
    nt = normalize(big)
    for kind in DETECTORS:
        detect(kind, nt)


# ------------------------------------------------------------------------------------------- issue 10: sharper


@pytest.mark.parametrize(
    "text, expected",
    [
        ("maria.g@outlook dot com", [("maria.g@outlook dot com", "maria.g@outlook.com")]),
        ("tom at hot mail dot com", [("tom at hot mail dot com", "tom@hotmail.com")]),
        ("jane at g mail dot com", [("jane at g mail dot com", "jane@gmail.com")]),
        ("kim at out look dot com", [("kim at out look dot com", "kim@outlook.com")]),
        ("bo at ya hoo dot com", [("bo at ya hoo dot com", "bo@yahoo.com")]),
        ("s a m at example dot org", [("s a m at example dot org", "sam@example.org")]),
        ("j o h n dot smith at example dot com", [("j o h n dot smith at example dot com", "john.smith@example.com")]),
        ("j d at yahoo dot com", [("j d at yahoo dot com", "jd@yahoo.com")]),
        (
            "front dash desk at river dash clinic dot com",
            [("front dash desk at river dash clinic dot com", "front-desk@river-clinic.com")],
        ),
        ("sam underscore lee at example dot net", [("sam underscore lee at example dot net", "sam_lee@example.net")]),
        ("john two three at g mail dot com", [("john two three at g mail dot com", "john23@gmail.com")]),
        ("jane at sign example dot com", [("jane at sign example dot com", "jane@example.com")]),
        ("ravi at the rate g mail dot com", [("ravi at the rate g mail dot com", "ravi@gmail.com")]),
        ("ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", [("ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "jane@example.com")]),
        ("jane\u200b@example.com", [("jane\u200b@example.com", "jane@example.com")]),
        # near misses
        ("reach me at g mail dot com", []),
        ("we are at the mall dot", []),
        ("meet at hot mail", []),
    ],
)
def test_email_mixed_asr_forms_whole_span(text: str, expected) -> None:
    assert found("email", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "logged at 2019-07-12 16:30:49",
        "created 2019-07-12T16:30:49Z",
        "on 07/12/2019 4:30 pm",
        "on 12.07.2019 at 16:30",
        "timestamp 20190712163000",
        "timestamp 20190712 163000",
    ],
)
def test_dates_and_times_are_not_cards(text: str) -> None:
    nt = normalize(text)
    assert detect_all(nt) == []


def test_luhn_valid_timestamps_are_not_cards() -> None:
    stamps = [f"2019-07-{d:02d} {h:02d}:{m:02d}:{s:02d}" for d in (1, 12) for h in (9, 16) for m in (5, 30) for s in range(60)]
    luhn_valid = [t for t in stamps if luhn_ok("".join(ch for ch in t if ch.isdigit()))]
    assert len(luhn_valid) > 30  # about one in ten
    assert [t for t in luhn_valid if detect("credit_card", normalize(t))] == []


@pytest.mark.parametrize(
    "text",
    [
        "your claim number is 123-45-6789",
        "order number one two three, four five, six seven eight nine",
        "the reference number is one two three four five six seven eight nine",
        "policy 123 45 6789",
        "tracking number: 123456789",
        "member id 123-45-6789",
        "your confirmation number for the booking is 123 45 6789",
    ],
)
def test_number_introduced_as_another_identifier_is_not_an_ssn(text: str) -> None:
    assert found("ssn", text) == []


@pytest.mark.parametrize(
    "text",
    [
        "my ssn is 123-45-6789",
        "for the order I need your social, it is 123-45-6789",
        "the ssn on the application is 123456789",
        "123-45-6789",
    ],
)
def test_ssn_still_found(text: str) -> None:
    assert [v for _, v in found("ssn", text)] == ["123456789"]


@pytest.mark.parametrize(
    "text, kind",
    [
        ("three seven eight two, eight two two four six three, one oh oh oh five", "credit_card"),
        ("3782 822463 10005", "credit_card"),
        ("4-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1", "credit_card"),
        ("four one one one one one one one one one one one one one one one", "credit_card"),
        ("call 4155550198 at txt dot att dot net", "email"),
        ("123456789", "ssn"),  # valid as an SSN and as a routing number, no context: the SSN
        ("routing number 021000021", "aba_routing"),
    ],
)
def test_one_value_one_finding_of_its_most_specific_kind(text: str, kind: str) -> None:
    hits = detect_all(normalize(text))
    assert [h.kind for h in hits] == [kind], hits


@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("ssn ０７８-０５-１１２２", "ssn", "078051122"),
        ("ssn ٠٧٨-٠٥-١١٢٢", "ssn", "078051122"),
        ("ssn 𝟎𝟕𝟖-𝟎𝟓-𝟏𝟏𝟐𝟐", "ssn", "078051122"),
        ("ssn 0\u200b7\u200b8-05-1122", "ssn", "078051122"),
        ("ssn 1-2-3-4-5-6-7-8-9", "ssn", "123456789"),
        ("ssn one two three, four five, six seven eight niner", "ssn", "123456789"),
        ("card 4\u00ad111 1111 1111 1111", "credit_card", "4111111111111111"),
    ],
)
def test_evasive_numbers_span_the_original_characters(text: str, kind: str, value: str) -> None:
    hits = detect(kind, normalize(text))
    assert [h.value for h in hits] == [value]
    assert text[hits[0].start : hits[0].end] == text[text.index(" ") + 1 :]
