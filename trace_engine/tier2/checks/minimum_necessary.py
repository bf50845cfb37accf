"""``minimum_necessary`` (HIPAA): health information told beyond what the call's purpose needs, or to an
unverified or third-party listener.

Judge: a rule over three lexicons (health information in the agent turn; who is on the line and whether they
were verified, from the window's earlier turns; the caller's stated purpose) OR'ed with a TF-IDF +
logistic-regression classifier over the agent turn plus the caller's earlier words (marked ``c_``), trained on
``tests/data/tier2/minimum_necessary.jsonl`` (train split). An agent turn that declines to share is never a
finding. Findings escalate: a disclosure may be a reportable breach.
"""

from __future__ import annotations

from trace_engine.tier2 import models
from trace_engine.tier2.checks._common import earlier, last, rx
from trace_engine.tier2.features import agent_with_caller_context
from trace_engine.tier2.judges import Verdict

CLASSIFIER_THRESHOLD = 0.6

HEALTH = rx(
    r"\b(diagnos\w*|biops\w*|cancer|tumou?r|chemo\w*|hiv|aids|std|sti|chlamydia|gonorrh\w*|syphilis|herpes|hpv|"
    r"hepatitis|trichomoniasis|tuberculosis|overdose|rehab|detox|relaps\w*|addiction|dependence|methadone|"
    r"oxycodone|fentanyl|cocaine|heroin|psych\w*|depress\w*|anxiety|ptsd|bipolar|schizophren\w*|suicid\w*|"
    r"self harm|eating disorder|dementia|alzheimer'?s|parkinson'?s|epilepsy|seizure|stroke|pregnan\w*|abortion|"
    r"miscarriage|amniocentesis|down syndrome|mammogram|pap|colposcopy|mastectomy|brca\d?|lupus|cirrhosis|"
    r"dialysis|kidney|liver|a1c|insulin|cholesterol|thyroid|concussion|acl|bypass|cardio\w*|heart condition|"
    r"viral load|antiretroviral\w*|prep|antipsychotic\w*|antidepressant\w*|lithium|adderall|adhd|autism|"
    r"naltrexone|sertraline|donepezil|birth control|viagra|erectile|fertility|melanoma|hospice|icu|"
    r"drug (screen|test)|tested positive|test (was|came back) positive|results?|melanoma|alcohol\w*)\b"
)
THIRD_PARTY = rx(
    r"\b(my|his|her) (husband|wife|son|daughter|mother|mom|father|dad|sister|brother|grandmother|grandfather|"
    r"uncle|aunt|cousin|friend|buddy|neighbou?r|roommate|boss|fianc\w*|girlfriend|boyfriend|partner)\b",
    r"\bi'?m (his|her|the|a|their|just the) \w+",
    r"\b(calling|here) (for|on behalf of|about) (my|a|his|her|someone|the patient)\b",
    r"\b(neighbou?r|roommate|boss|employer|coworker|landlord|landlady|nanny|teacher|parole|case worker|"
    r"building manager|dog walker|receptionist|teammates?|hr department|school nurse|insurance broker)\b",
    r"\bwrong number\b|\bwho is this\b|\bwho'?s calling\b|\banswered (her|his) phone\b|\btake a message\b",
    r"\bsomeone else\b|\bdifferent patient\b|\ba friend\b",
)
VERIFIED = rx(
    r"\b(date of birth|dob|born|birthday)\b", r"\bverif\w+\b", r"\byou'?ve confirmed\b", r"\bconfirm your\b",
    r"\b(power of attorney|authoriz\w+|personal representative|legal guardian|guardianship|designated contact)\b",
    r"\bon (the line|speaker) with me\b|\bright here on speaker\b|\bas (his|her) parent\b|\bon file\b",
    r"\bi'?m the patient\b|\bthis is the patient\b|\bmy own\b",
)
LOGISTICS = rx(
    r"\b(bill|billing|invoice|payment|pay|address|hours|directions|parking|fax|ride|reschedule|appointment time|"
    r"office hours|close|nurse line|mailing|flu clinic|voicemail|cancel)\b"
)
DECLINE = rx(
    r"\b(can'?t|cannot|not able to|unable to|won'?t|don'?t) (share|discuss|confirm|release|give|tell)\b",
    r"\bneed (the patient'?s|her|his|their) (permission|authorization)\b", r"\b(she|he)'?ll (need|have) to\b",
    r"\bfor privacy reasons\b", r"\bcall us (herself|himself|back)\b", r"\bsigned release\b",
)


class MinimumNecessaryJudge:
    check_id = "minimum_necessary"
    speaker = "agent"

    def assess(self, window) -> tuple[float, str | None]:  # noqa: ANN001
        turn = last(window)
        text = turn.text
        if DECLINE.search(text):
            return 0.0, None
        caller = earlier(window, "caller")
        health = HEALTH.search(text)
        p = models.linear("minimum_necessary").positive(agent_with_caller_context(window))
        if health:
            verified = VERIFIED.search(caller) or VERIFIED.search(text)
            if THIRD_PARTY.search(caller) and not verified:
                return max(p, 0.9), "to a caller who identified as a third party and was not verified"
            if caller and LOGISTICS.search(caller) and not HEALTH.search(caller) and not verified:
                return max(p, 0.85), "beyond the call's stated purpose"
        if p >= CLASSIFIER_THRESHOLD and health:
            return p, "without verification or beyond the call's purpose"
        return p if p < CLASSIFIER_THRESHOLD else 0.0, None

    def judge(self, window, ctx) -> list[Verdict]:  # noqa: ANN001
        turn = last(window)
        if turn is None or turn.role != "agent" or not turn.text.strip():
            return []
        p, why = self.assess(window)
        if why is None:
            return []
        term = HEALTH.search(turn.text)
        return [
            Verdict(
                "minimum_necessary", "high", p, "escalate", "agent",
                f'The agent disclosed health information ("{term.group(0) if term else "health detail"}") {why}.',
                "Do not share further health details until the caller is verified as the patient or an authorized "
                "representative.",
            )
        ]
