"""What a Tier-2 check knows about the call beyond the judged turn's words.

The inline gate already tracks question-and-answer states (``verified`` in the hipaa pack; ``right_party`` and
third-party cues where a pack defines them); :class:`ContextTracker` reads those when the runner passes the
call's states, and otherwise (offline re-scoring, or a config without those packs) derives the same facts from
the turns with the catalog's own definitions:

* **verified**: the agent asked for identifying details (date of birth, member or account id, zip code or address
  on file, last four of the SSN) and the caller's next turn gave them (not a refusal or a question back);
* **right_party**: the agent asked for the person ("is this ...", "am I speaking with", "may I speak with") and
  the caller's next turn affirmed ("yes", "speaking", "that's me");
* **third_party**: the caller said they are someone else ("this is his wife", "I'm calling for my mother",
  "she's not home", "can I take a message"). A spouse *mentioned* by the patient ("my wife says I snore") is not
  a third party on the line;
* **phone**: the call reads as a phone call (a greeting such as "thank you for calling", "calling from");
* **self_health**: the caller spoke of their own health in the first person ("I've had a cough", "my knee");
  an in-person patient, or a caller who volunteered it, is the patient;
* per agent turn: which sentences **ask** and which **tell** (questions are not disclosures).

Every flag is sticky for the rest of the call, except that a later third-party cue clears ``verified``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_I = re.IGNORECASE

VERIFY_ASK = re.compile(
    r"\b(date of birth|birth ?date|d\.?o\.?b|born|member (id|number)|account number|policy number|zip code|"
    r"address on file|last four|social security|verify|confirm your (name|identity|birthday|address))\b", _I)
REFUSAL = re.compile(r"\b(rather not|why do you need|not (going to|gonna) (say|give|tell)|won'?t (say|give)|"
                     r"none of your business|who is this|who'?s (asking|calling))\b|^\W*(no|nope)\W*$", _I)
ANSWER_SHAPE = re.compile(
    r"\d|\b(january|february|march|april|may|june|july|august|september|october|november|december|"
    r"one|two|three|four|five|six|seven|eight|nine|zero|oh|ten|eleven|twelve|twenty|thirty|nineteen|"
    r"street|avenue|road|lane|drive)\b", _I)
RIGHT_PARTY_ASK = re.compile(r"\b(is this|am i speaking (with|to)|may i speak (with|to)|can i speak (with|to)|"
                             r"is (mr|mrs|ms|miss)\.? \w+ (there|available)|are you \w+)\b", _I)
AFFIRM = re.compile(r"^\W*(yes|yeah|yep|speaking|that'?s me|this is (she|he|him|her|me)|it is|correct|"
                    r"that'?s right|you are|you got (him|her|me)|sure is)\b", _I)
_REL = (r"(husband|wife|son|daughter|mother|mom|father|dad|sister|brother|grandmother|grandma|grandfather|grandpa|"
        r"uncle|aunt|cousin|friend|neighbou?r|roommate|boss|employer|partner|girlfriend|boyfriend|fianc\w*|"
        r"caregiver|nurse|coworker|landlord|niece|nephew|child|kid|parent|spouse)")
THIRD_PARTY = re.compile(
    r"\bthis is (his|her|their|the patient'?s) " + _REL + r"\b|"
    r"\bi'?m (his|her|their|the patient'?s) " + _REL + r"\b|"
    r"\b(calling|call) (for|about|on behalf of|regarding) (my|his|her|our) " + _REL + r"\b|"
    r"\b(calling|call) (for|on behalf of) (him|her|them|someone)\b|"
    r"\b(he|she)'?s? (is )?(not|isn'?t) (home|here|in|available|around)\b|\b(he|she) (stepped|went) out\b|"
    r"\bcan i take a message\b|\bwrong number\b|\bthis is not (him|her)\b|\bi'?m not (him|her)\b|"
    r"\b(my|our) " + _REL + r"'?s? (test|results?|appointment|biopsy|scan|prescription|medication|account|bill)\b|"
    r"\b(this is|i'?m) [a-z]+( [a-z]+)?'s " + _REL + r"\b", _I)
PHONE = re.compile(r"\b(thank(s| you) for calling|calling (from|on behalf of|about)|this is \w+ (from|with|at)|"
                   r"this is \w+ speaking|this is the \w+( \w+)? (at|from|with)|on the (phone|line)|give (us|me) a call|call (you|me) back|please hold|"
                   r"you'?ve reached|returning your call|i'?m calling|(how|what) (can|may) i (help|do for) you|"
                   r"^\W*(hello|hi|good (morning|afternoon|evening))?,? ?[a-z]+( [a-z]+)? (clinic|medical|practice|"
                   r"health|hospital|pharmacy|cardiology|dental|pediatrics|nurse line)\b)", _I)
SELF_HEALTH = re.compile(
    r"\b(i'?ve (been|had|got)|i (have|had|get|feel|felt|take|took|am taking|started|hurt|broke|fell)|"
    r"i'?m (having|taking|feeling|on|in pain|allergic|pregnant|diabetic|sore)|my (\w+ )?(pain|knee|back|"
    r"head|chest|stomach|leg|arm|shoulder|foot|feet|hip|neck|throat|eyes?|ears?|skin|blood|heart|sugar|"
    r"medications?|meds|pills|symptoms?|cough|rash|doctor|surgery|diagnosis|periods?))\b", _I)
QUESTION_START = re.compile(
    r"^\W*(do|does|did|have|has|had|are|is|was|were|can|could|would|will|should|may|any|how|what|when|where|"
    r"which|who|whom|whose|why|tell me|let me ask|and (do|did|have|are|is|how|what|when|any))\b", _I)
_SENT = re.compile(r"(?<=[.?!])\s+|\s*\n\s*")

STATE_NAMES = {
    "verified": ("verified", "caller_verified", "identity_verified"),
    "right_party": ("right_party", "right_party_confirmed", "consumer_confirmed"),
    "third_party": ("third_party", "third_party_on_line", "third_party_cue", "someone_else_answered"),
}


def sentences(text: str) -> list[str]:
    return [s for s in _SENT.split(text.strip()) if s.strip()]


def is_question(sentence: str) -> bool:
    s = sentence.strip()
    return s.endswith("?") or bool(QUESTION_START.match(s))


def split_ask_tell(text: str) -> tuple[str, str]:
    """(the asking sentences, the telling sentences) of a turn."""
    ask, tell = [], []
    for s in sentences(text):
        (ask if is_question(s) else tell).append(s)
    return " ".join(ask), " ".join(tell)


@dataclass(slots=True)
class CallContext:
    """The call's context as of one turn (a snapshot: the tracker hands out copies)."""

    verified: bool = False
    right_party: bool = False
    third_party: bool = False
    phone: bool = False
    self_health: bool = False
    #: the previous turn of the other speaker (for a caller turn: what the agent just said)
    prev_other: str = ""
    states: frozenset[str] = field(default_factory=frozenset)

    def flags(self) -> tuple[float, ...]:
        return (float(self.verified), float(self.right_party), float(self.third_party), float(self.phone),
                float(self.self_health))


class ContextTracker:
    """Feed the call's turns in order; :meth:`feed` returns the context the judged turn is read in."""

    def __init__(self) -> None:
        self.ctx = CallContext()
        self._asked_verify = False
        self._asked_party = False
        self._last: dict[str, str] = {"agent": "", "caller": ""}

    def feed(self, role: str, text: str, states: dict[str, bool] | frozenset[str] | None = None) -> CallContext:
        c = self.ctx
        if role == "caller":
            if self._asked_verify and ANSWER_SHAPE.search(text) and not REFUSAL.search(text) \
                    and not text.strip().endswith("?"):
                c.verified = True
            if self._asked_party and AFFIRM.search(text):
                c.right_party = True
            if THIRD_PARTY.search(text):
                c.third_party = True
                c.verified = False
                c.right_party = False
            if SELF_HEALTH.search(text):
                c.self_health = True
            self._asked_verify = self._asked_party = False
        else:
            ask, _ = split_ask_tell(text)
            self._asked_verify = bool(ask and VERIFY_ASK.search(ask))
            self._asked_party = bool(ask and RIGHT_PARTY_ASK.search(ask))
        if PHONE.search(text):
            c.phone = True
        if states:
            on = {k for k, v in states.items() if v} if isinstance(states, dict) else set(states)
            c.states = frozenset(on)
            for flag, names in STATE_NAMES.items():
                if on.intersection(names):
                    setattr(c, flag, True)
        other = "caller" if role == "agent" else "agent"
        snap = CallContext(c.verified, c.right_party, c.third_party, c.phone, c.self_health, self._last[other],
                           c.states)
        self._last[role] = text
        return snap


def context_for(turns: list[tuple[str, str]]) -> CallContext:
    """The context of the last of ``turns`` ((role, text) pairs, oldest first)."""
    tr = ContextTracker()
    ctx = CallContext()
    for role, text in turns:
        ctx = tr.feed(role, text)
    return ctx
