"""Keyword rules: how people name the modes, the dimensions, their constraints and what they want.

Everything here matches lower-cased text. Requirement rules come in two strengths: *phrases* that state a
constraint on their own ("every MB counts", "we're a bank") and the generic *stance* rule, which raises a
priority only when a first-person or need word, a topic and an importance word meet in one clause ("latency is
critical for us"), so that a question about a topic ("how much memory does ztunnel use?") states nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistant.domain.conversation import Aspect
from assistant.domain.text import terms
from assistant.domain.vocabulary import Dimension, Mode, Priority


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


# Modes ------------------------------------------------------------------------------------------------------
MODE_PATTERNS: dict[Mode, re.Pattern[str]] = {
    Mode.SIDECAR: _rx(
        r"\bsidecars?\b(?![- ]?(?:less|free))",
        r"\bper[- ]pod (?:envoy |proxy|proxies)",
        r"\bprox(?:y|ies) (?:per|in every|in each) pod",
        r"\binjected envoy",
        r"\bclassic istio\b|\bistio classic\b",
    ),
    Mode.AMBIENT: _rx(r"\bambient\b", r"\bztunnels?\b", r"\bwaypoints?\b", r"\bhbone\b"),
    Mode.CILIUM: _rx(r"\bcilium", r"\bebpf\b", r"\bcluster ?mesh\b"),
    Mode.GRPC: _rx(r"\bproxy-?less\b", r"\bxds\b", r"\bgrpc\b"),
}

# gRPC named as something the services speak is a fact about the platform, not a mention of the mode.
GRPC_AS_PROTOCOL = _rx(
    r"(?:speak|speaks|spoke|spoken|use|uses|used|using|talk|talks|talked|run on|built on|built with|over|via)\s+grpc",
    r"grpc (?:services?|apis?|calls?|traffic|clients?|servers?|everywhere|only|shop|endpoints?)",
    r"(?:rest|http(?:/json)?|json) (?:and|&|or|/) grpc|grpc (?:and|&|or|/) (?:rest|http)",
    r"grpc-only|pure grpc|all grpc|no grpc|(?:are|is) (?:all )?grpc\b(?! mode| data| mesh| model| option)",
    r"\b(?:some|a few|a little|a bit of|mostly|partly) grpc\b(?! mode| data| mesh| model| option)",
)
# Istio as a product, not one of its releases, documents or parts ("Istio 1.24", "Istio's performance page").
WHOLE_ISTIO = re.compile(
    r"\bistio\b(?!(?:'s)? (?:\d|docs?|documentation|blog|page|performance|release|change ?notes|quickstart|ca\b|"
    r"cni|ingress|gateway|control plane|istiod|project|community|maintainers|team|roadmap|website|site|post))(?![-.]\w)"
)

# Dimensions (matched in this order; a matched span is not reused, so "cross-zone cost" is network only) --------
DIMENSION_PATTERNS: list[tuple[Dimension, re.Pattern[str]]] = [
    (
        Dimension.NETWORK_EFFICIENCY,
        _rx(
            r"\bcross[- ]?(?:zone|az|availability[- ]zone|region)s?\b(?: (?:costs?|traffic|charges?|bills?|fees))?",
            r"\bnetwork (?:overhead|hops?|efficiency|costs?|traffic)",
            r"\begress\b|\bdata[- ]transfer\b|\bextra hops?\b|\bnetwork hops?\b|\bbandwidth\b|\blocality\b",
        ),
    ),
    (
        Dimension.SECURITY,
        _rx(
            r"\bsecur(?:e|ity)\b|\binsecure\b|\bisolat\w*|\bmtls\b|\bzero[- ]trust\b|\bidentit(?:y|ies)\b",
            r"\bkeys?\b|\bblast radius\b|\battack\w*|\bthreats?\b|\bcompromis\w*|\bencrypt\w*|\bspiffe\b",
            r"\bvulnerab\w*|\bcves?\b|\bfips\b|\bauthori[sz]ation\b|\bauthentication\b|\bsafe(?:r|st)?\b",
        ),
    ),
    (
        Dimension.PERFORMANCE,
        _rx(
            r"\blatenc(?:y|ies)\b|\bperform(?:ance|ant|s)?\b|\bfast(?:er|est)?\b|\bspeed\b|\bthroughput\b",
            r"\bp9\d\b|\bmilliseconds?\b|\bslow(?:er|est|down)?\b|\bquick(?:er|est)?\b",
        ),
    ),
    (
        Dimension.MATURITY,
        _rx(
            r"\bmatur(?:e|ity)\b|\bprod(?:uction)?[- ]ready\b|\bready for prod(?:uction)?\b|\bstable\b|\bstability\b",
            r"\bga\b|\bgenerally available\b|\bbeta\b|\balpha\b|\bexperimental\b|\bbattle[- ]tested\b",
            r"\bproven\b|\bdeprecat\w*|\broadmap\b|\bstatus\b|\bremov(?:ed|al)\b|\bgoing away\b|\bbuild on\b",
            r"\bbet on\b|\bfuture[- ]proof\b|\blong[- ]term\b|\bstill (?:maintained|recommended|viable|supported)\b",
            r"\b(?:officially|fully|production) supported\b|\bsupport status\b",
        ),
    ),
    (
        Dimension.MANAGEABILITY,
        _rx(
            r"\bmanag(?:e|eable|eability|ement|ing)\b|\boperat(?:e|ions|ional|ing)\b|\bupgrad\w*",
            r"\bday[- ]?2\b|\bcomplex(?:ity)?\b|\bsimpl(?:e|er|est|icity)\b|\bmaintain\w*|\bmaintenance\b",
            r"\bops\b|\btoil\b|\binstall\w*|\bdebug\w*|\btroubleshoot\w*|\brestart\w*|\beasy\b|\beasier\b",
        ),
    ),
    (
        Dimension.RESOURCE_EFFICIENCY,
        _rx(
            r"\bresources?\b|\bcpu\b|\bmemory\b|\bram\b|\bfootprint\b|\bm?vcpu\b|\bmcpu\b|\bmb\b|\bmib\b|\boverhead\b",
            r"\bheav(?:y|ier|iest)\b|\blight(?:er|est|weight)?\b",
            r"\bcosts?\b|\bcheap(?:er|est)?\b|\bexpensive\b|\befficien(?:t|cy)\b|\bbudget\b|\bspend\b|\bbill\b",
        ),
    ),
]

PRIORITY_OF: dict[Dimension, Priority] = {priority.dimension: priority for priority in Priority}

# Requirement phrases: each pattern sets fields of Requirements on its own ---------------------------------------
NEGATION = re.compile(r"\b(?:no|not|never|without|none|don't|do not|doesn't|does not|isn't|aren't|won't|zero)\b")


@dataclass(frozen=True)
class Phrase:
    name: str
    pattern: re.Pattern[str]
    sets: dict[str, Any]
    negated: dict[str, Any] | None = None  # what it sets when a negation precedes it in the clause
    in_questions: bool = True  # False: "which mode has the lowest latency?" asks about modes, states nothing


PHRASES: list[Phrase] = [
    Phrase(
        "regulated",
        _rx(
            r"\b(?:we(?:'re| are)|as|for|at|should|would|could|does|do) (?:an? |the )?(?:\w+ )?(?:bank|fintech|insurer|"
            r"hospital|clinic|"
            r"healthcare (?:provider|company|platform)|payments? (?:company|provider|processor)|brokerage|"
            r"trading firm|government agency|public[- ]sector (?:agency|body|organi[sz]ation))\b",
            r"\b(?:banking|financial services|fintech|healthcare|health care|medical|insurance|government|"
            r"public[- ]sector|defen[cs]e) (?:sector|industry|company|organi[sz]ation|platform|workloads?|data|"
            r"customers?|clients?|regulator)",
            r"\b(?:hipaa|pci(?:[- ]dss)?|sox|soc ?2|fedramp|gdpr|dora)\b",
            r"\bregulated\b|\bregulators?\b|\bregulatory\b|\bcompliance (?:team|requirements?|rules|regime)",
            r"\bstrict (?:audits?|auditors?|compliance)|\bauditors?\b|\bpatient (?:data|records)\b",
        ),
        {"regulated": True},
    ),
    Phrase(
        "security-high",
        _rx(
            r"\bsecurity (?:is|comes|remains) (?:our |the |a )?(?:top|first|main|number one|#1|highest|critical|"
            r"paramount|non-negotiable|crucial|key)",
            r"\b(?:strict|strong|strongest|maximum|max|hard|tight) (?:workload |tenant |service )?"
            r"(?:isolation|security)",
            r"\bzero[- ]trust\b|\bcan't afford a (?:breach|compromise)\b|\bhostile (?:tenants|workloads)\b",
        ),
        {"security": "high"},
        in_questions=False,
    ),
    Phrase(
        "resources-high",
        _rx(
            r"\b(?:tiny|small|little|constrained|resource[- ]constrained|resource[- ]limited|cramped|underpowered)"
            r" (?:clusters?|nodes?|vms?|machines|footprint|budget|environments?|edge)",
            r"\bevery (?:mb|megabyte|byte|cpu|core|millicore|dollar|cent|bit of memory) (?:counts|matters)",
            r"\b(?:limited|scarce|tight|constrained|low|short on) (?:resources|memory|cpu|ram|budget|compute)",
            r"\b(?:memory|cpu|ram|budget|resources|compute) (?:is|are) (?:tight|scarce|limited|constrained|precious)",
            r"\b(?:cut|reduce|lower|minimi[sz]e|save on|slash|trim|shrink) (?:the |our )?(?:resource|cpu|memory|"
            r"infrastructure|infra|cloud|compute|proxy|kubernetes|k8s|aws|gcp|azure) (?:use|usage|costs?|bill|spend|"
            r"spending|overhead|footprint)",
            r"\b(?:cost|resource|budget)[- ](?:sensitive|conscious|constrained)\b",
            r"\bedge (?:devices?|nodes?|sites?|locations?|clusters?)\b|\braspberry pis?\b",
        ),
        {"resources": "high"},
    ),
    Phrase(
        "performance-high",
        _rx(
            r"\b(?:low|lowest|ultra[- ]?low|minimal|minimum) latency\b",
            r"\blatency[- ](?:sensitive|critical|bound)\b|\breal[- ]time\b|\bhigh[- ](?:performance|throughput|"
            r"frequency)\b|\bevery (?:millisecond|microsecond|ms) (?:counts|matters)\b|\btail latency\b",
        ),
        {"performance": "high"},
        in_questions=False,
    ),
    Phrase(
        "simplicity-high",
        _rx(
            r"\b(?:small|tiny|lean|two[- ]person|2[- ]person|three[- ]person|one[- ]person|solo|single[- ]person|"
            r"two[- ]people|three[- ]people|understaffed|overstretched|stretched) (?:platform |ops |infra |sre |"
            r"devops |infrastructure )?team",
            r"\b(?:only|just) (?:one|two|three|a couple of|a few|1|2|3) (?:platform )?(?:engineers?|people|sres?|"
            r"devops|admins?|of us|operators)",
            r"\b(?:team|we|with) (?:has |have |of |is |are )?(?:only |just )?(?:one|two|three|four|1|2|3|4)"
            r"(?: platform| ops| infra| devops)? (?:engineers?|people|sres?|devops engineers|admins?|operators?|"
            r"developers|devs)\b(?! (?:per|in each|for each|on each)\b)",
            r"\b(?:no|without a|don't have a|do not have a|lack a) (?:dedicated )?(?:platform|ops|sre|infra|"
            r"infrastructure|mesh) (?:team|engineers?|experts?)",
        ),
        {"simplicity": "high"},
    ),
    Phrase(
        "simplicity-wanted",
        _rx(
            r"\b(?:simple|easy|easiest|simplest|minimal|low) (?:to (?:operate|run|manage|maintain)|operations|ops|"
            r"maintenance|operational (?:burden|overhead|effort))",
            r"\b(?:avoid|minimi[sz]e|reduce|hate|no appetite for|low tolerance for|little tolerance for) "
            r"(?:operational |management |ops )?(?:complexity|toil|ops work|operational burden)",
            r"\bkeep (?:it|things|operations|ops) simple\b",
        ),
        {"simplicity": "high"},
        in_questions=False,  # "which is the simplest to operate?" asks about the modes
    ),
    Phrase(
        "maturity-high",
        _rx(
            r"\b(?:needs?|wants?|requires?|prefers?|must|only run|only use|stick to) (?:to )?(?:be )?"
            r"(?:a |an |something |the most )?(?:mature|battle[- ]tested|proven|production[- ]grade|rock[- ]solid|"
            r"stable|boring|well[- ]established)",
            r"\b(?:can't|cannot|won't|will not|do not want to|don't want to|refuse to) (?:risk|run|use|bet on|"
            r"adopt|deploy) (?:\w+ )?(?:beta|experimental|alpha|unproven|immature)",
            r"\b(?:no|avoid) (?:beta|experimental|alpha) (?:software|features|tech|technology|components)",
            r"\brisk[- ]averse\b|\bconservative (?:org|organi[sz]ation|company|team|bank)",
        ),
        {"maturity": "high"},
        in_questions=False,
    ),
    Phrase(
        "network-high",
        _rx(
            r"\b(?:our|the|high|huge|painful|growing|big) cross[- ]?(?:zone|az|region) (?:costs?|bills?|charges|"
            r"traffic|spend|data transfer)",
            r"\bcross[- ]?(?:zone|az|region) (?:costs?|bills?|charges|traffic|spend) (?:are|is) (?:high|huge|"
            r"killing|painful|a (?:problem|concern|worry)|expensive)",
            r"\b(?:egress|data[- ]transfer|network) (?:costs?|bills?|charges|fees|spend) (?:are|is) (?:high|huge|"
            r"killing|painful|a (?:problem|concern|worry)|expensive)",
            r"\b(?:minimi[sz]e|reduce|cut|lower|avoid) (?:network (?:hops|overhead|traffic)|cross[- ]?(?:zone|az|"
            r"region) (?:traffic|costs?|data transfer)|egress|extra hops)",
            r"\b(?:bandwidth|network) (?:is|are) (?:expensive|limited|constrained|scarce|saturated)",
        ),
        {"network": "high"},
        in_questions=False,
    ),
    Phrase(
        "grpc-none",
        _rx(
            r"\b(?:no|zero) grpc\b|\b(?:don't|do not|doesn't|does not|never) (?:use|speak|run|talk) grpc",
            r"\bnone of (?:our|the) (?:services|apps|microservices|workloads) (?:use|speak|talk|are) grpc",
            r"\b(?:only|just|all|purely|entirely) (?:rest|http(?:/json)?|json|graphql|soap)\b(?! and grpc)",
            r"\b(?:rest|http)[- ]only\b|\bnot grpc\b",
        ),
        {"grpc": "none"},
    ),
    Phrase(
        "grpc-all",
        _rx(
            r"\b(?:all|every|each|100%|entirely|exclusively) (?:of )?(?:our |the |my )?(?:\w+ )?(?:services?|"
            r"microservices|apps?|applications|workloads|traffic|backends?|calls) (?:\w+ )?(?:speak|speaks|spoke|use|"
            r"uses|used|talk|talks|talked|are|is|were|run on|runs on|ran on|built on|built with|communicate over|"
            r"communicates over|communicated over|go over|goes over|went over) (?:over |via |with |on )?(?:an? )?grpc",
            r"\bgrpc (?:everywhere|only|across the board|for everything|for all (?:our )?services)\b",
            r"\beverything (?:is|speaks|uses|runs on|talks|goes over) grpc\b",
            r"\b(?:purely|pure|all|100%)[- ]grpc\b|\bgrpc[- ]only\b|\bgrpc shop\b|\bgrpc-native\b",
            r"(?<!not )\b(?:all|every) (?:of )?(?:our |the |my )?(?:\w+ )?(?:services?|microservices|apps?|"
            r"applications|workloads|backends?)\b(?: [\w']+){0,6}? (?:over|via|speak|speaks|use|uses|using|in) grpc\b",
            r"\bgrpc (?:end[- ]to[- ]end|throughout|all the way)\b|\bend[- ]to[- ]end grpc\b",
        ),
        {"grpc": "all"},
    ),
    Phrase(
        "grpc-some",
        _rx(
            r"\b(?:some|a few|several|half|part|many|most|a third|a quarter|a handful) (?:of )?(?:our |the )?"
            r"(?:\w+ )?(?:services|apps|microservices|workloads|backends) (?:\w+ )?(?:speak|use|talk|are|run)"
            r" (?:over |on )?grpc",
            r"\bmix(?:ed|ture)? of (?:rest|http|json)(?: and| &|/) ?grpc|\bmix(?:ed|ture)? of grpc (?:and|&) "
            r"(?:rest|http)",
            r"\b(?:rest|http) (?:and|&|plus) grpc\b|\bgrpc (?:and|&|plus) (?:rest|http)\b|\bpartly grpc\b",
            r"\bmostly (?:\w+ )?(?:rest|http|json|graphql)\b.{0,40}\b(?:some|a few|a little|a bit of) grpc\b",
            r"\bmostly (?:\w+ )?grpc\b.{0,40}\b(?:some|a few|a little|a bit of) (?:rest|http|json|graphql)\b",
            r"\b(?:not all|some|a few|several|half|part|many|most) (?:of )?(?:our |the )?(?:\w+ )?(?:services|apps|"
            r"microservices|workloads|backends)\b(?: [\w']+){0,6}? (?:over|via|speak|use|using|in) grpc\b",
        ),
        {"grpc": "some"},
    ),
    Phrase(
        "cilium",
        _rx(
            r"\b(?:run|use|running|using|on|have|deployed|standardi[sz]ed on|adopted)\s+cilium\b",
            r"\bcilium (?:is|as) (?:our|the) (?:cni|network|networking)",
            r"\bour cni is cilium\b|\bcilium[- ](?:based|powered) (?:clusters?|cni|networking)",
        ),
        {"cilium": True},
        negated={"cilium": False},
    ),
    Phrase(
        "other-cni",
        _rx(r"\b(?:use|using|run|running|on|have) (?:calico|flannel|weave|antrea|kube-router|aws vpc cni|azure cni)\b"),
        {"cilium": False},
    ),
    Phrase(
        "vms",
        _rx(
            r"\b(?:vms?|virtual machines?|bare[- ]metal (?:hosts|servers|machines)|ec2 instances|legacy (?:hosts|"
            r"servers|machines)|non-kubernetes workloads|outside (?:of )?kubernetes|mainframes?)\b",
            r"\b(?:isn't|is not|aren't|are not|not) (?:yet |all |running )?(?:on|in) kubernetes\b",
        ),
        {"vms": True},
        negated={"vms": False},
    ),
    Phrase(
        "multicluster",
        _rx(
            r"\bmulti[- ]?clusters?\b|\bmultiple clusters\b|\bseveral clusters\b|\bmany clusters\b",
            r"\b(?:two|three|four|five|six|ten|dozens of|\d+) (?:kubernetes |k8s |gke |eks |aks )?clusters\b",
            r"\bacross clusters\b|\bcross[- ]cluster\b|\bmulti[- ]region\b|\bclusters in (?:several|multiple|"
            r"different) regions\b|\bclusters in \w+ and \w+\b",
            r"\b(?:spread|split|distributed|stretched|spans?|spanning) (?:over|across) (?:\w+ ){0,2}clusters\b",
        ),
        {"multicluster": True},
        negated={"multicluster": False},
    ),
    Phrase(
        "single-cluster",
        _rx(
            r"\b(?:single|one|only) (?:kubernetes |k8s |gke |eks |aks |production |prod )?cluster\b"
            r"(?! (?:per|for each)\b)"
        ),
        {"multicluster": False},
    ),
    Phrase(
        "envoyfilter",
        _rx(r"\benvoy ?filters?\b|\blua (?:filters?|scripts?|extensions?)\b|\bcustom envoy (?:config|filters?)"),
        {"envoyfilter": True},
        negated={"envoyfilter": False},
    ),
    Phrase(
        "no-restarts",
        _rx(
            r"\b(?:can't|cannot|can not|won't|unable to|not allowed to|no way to|mustn't|must not|never) "
            r"(?:\w+ ){0,3}(?:restart|bounce|recycle|reschedule|roll|redeploy|reboot)",
            r"\b(?:no|zero) (?:pod |workload )?restarts?\b|\bwithout (?:\w+ ){0,2}restart(?:ing|s)?\b",
            r"\brestart(?:s|ing)?(?: (?:pods|workloads|services))? (?:is|are) (?:not (?:an )?option|impossible|"
            r"forbidden|not allowed|off the table|a no-go)",
        ),
        {"no_restarts": True},
    ),
    Phrase(
        "restarts-ok",
        _rx(
            r"\b(?:we|i) (?:can|could|may|(?:are|were) (?:allowed|able) to) (?:\w+ )?restart\b",
            r"\b(?:can|may|are allowed to) (?:freely )?restart (?:pods|workloads)\b|\brestarts are (?:fine|ok|okay)\b",
        ),
        {"no_restarts": False},
    ),
]

# The stance rule -----------------------------------------------------------------------------------------------
FIRST_PERSON = re.compile(
    r"\b(?:we|we're|we've|our|ours|us|i|i'm|my|me|the team|our team|the company)\b|\bfor (?:us|me)\b"
)
IMPORTANCE = re.compile(
    r"\b(?:critical|crucial|important|key|matters?|mattering|top|priority|priorities|must|paramount|essential|"
    r"non-negotiable|care(?:s)? (?:a lot |most |deeply )?about|focus(?:ed)? on|obsess(?:ed)? (?:with|about)|"
    r"sensitive|first|main|primary|biggest|most|big deal|concern(?:ed)?|worried|worry|a lot about|more about)\b"
)
DOWNPLAY = re.compile(
    r"\b(?:don't|do not|doesn't|does not|don't really|not) (?:care|worry|mind)\b|\b(?:isn't|is not|aren't|are not|"
    r"not) (?:a |an |our |that )?(?:big |major |real |top |high )?(?:concern|priority|issue|problem|deal)"
    r"|\bmatter(?:s|ed)? (?:less|little|not)\b|\b(?:least|low|lower|less of a|minor) (?:priority|concern)\b"
    r"|\b(?:less|not as) (?:important|critical|crucial|pressing)\b|\bcared? less\b"
    r"|\b(?:were|was|is|are) no (?:issue|concern|object|problem|constraint)\b"
    r"|\bcare (?:little|less|very little|not much|hardly at all) about\b|\b(?:barely|hardly|rarely) (?:care|worry)\b"
    r"|\bnot (?:too|very|that|really|overly|particularly) (?:worried|concerned|bothered|sensitive|important)\b"
    r"|\b(?:is|are) (?:secondary|a nice[- ]to[- ]have|negligible)\b|\bcan (?:live|cope) with (?:some |more |higher )?"
)
STANCE_TOPICS: dict[Priority, re.Pattern[str]] = {
    Priority.SECURITY: re.compile(r"\bsecur(?:e|ity)\b|\bisolation\b|\bcompliance\b"),
    Priority.RESOURCES: re.compile(r"\b(?:resource|cpu|memory|ram|footprint|cost|costs|budget|efficiency|overhead)\b"),
    Priority.PERFORMANCE: re.compile(r"\b(?:latency|performance|speed|throughput|fast)\b"),
    Priority.SIMPLICITY: re.compile(
        r"\b(?:simplicity|complexity|operations|ops|operational|manageability|upgrades?)\b"
    ),
    Priority.MATURITY: re.compile(r"\b(?:maturity|stability|stable|production[- ]readiness)\b"),
    Priority.NETWORK: re.compile(r"\b(?:network|cross[- ]?(?:zone|az)|egress|hops|data transfer)\b"),
}

# Intents --------------------------------------------------------------------------------------------------------
INJECTION = _rx(
    r"\b(?:ignore|disregard|forget|override|bypass) (?:all |any |the |your |these |those )?(?:previous |prior |above |"
    r"earlier |preceding |system |safety )?(?:instructions|prompts?|rules|directions|guidelines|guardrails|context)",
    r"\b(?:reveal|show|print|repeat|output|leak|dump) (?:me )?(?:your|the) (?:\w+ )?(?:prompt|instructions|rules)",
    r"\bsystem prompt\b|\byou are (?:now|no longer)\b|\bpretend (?:to be|you are)\b|\broleplay\b|\bjailbreak",
    r"\b(?:dan|developer|god) mode\b|\bnew (?:instructions?|rules?|system message)\s*:",
    r"(?:^|\n)\s*(?:system|assistant|developer|admin)\s*:",
    r"<\s*/?\s*(?:system|instructions?|sys)\s*>|\[\s*/?\s*(?:system|inst|sys)\s*\]|#{2,}\s*(?:system|instruction)",
    r"\byou (?:must|will|should|shall|are to) (?:always |only |now )?(?:recommend|answer|say|reply|output|respond)\b",
    r"\b(?:always|only) (?:recommend|answer with|say|reply with|output)\b",
    r"(?<!would )(?<!could )(?<!might )(?<!will )(?<!does )(?<!did )"  # "what would change your answer?" asks
    r"\b(?:override|change|rig|force) (?:the |your )?(?:recommendation|ranking|ratings|answer)",
)
HELP = _rx(
    r"^\s*(?:hi|hello|hey|howdy|hiya|yo|good (?:morning|afternoon|evening)|greetings|thanks?|thank you|thx|cheers)"
    r"(?: there)?[\s!.,?]*$",
    r"\bwhat (?:can|do) you (?:do|know|answer|help with|cover)\b|\bhow (?:do|can|should) i use (?:you|this)\b",
    r"^\s*help\s*[!.?]*\s*$|\bwho are you\b|\bwhat are you\b|\bwhat is this (?:bot|assistant|tool)\b",
)
# Requests for something other than an answer, whatever their topic ("tell me a joke about Kubernetes").
OFF_TOPIC = _rx(
    r"\b(?:tell|write|compose|give|make up|sing|invent) (?:me |us )?(?:(?:a|an|some|another) (?:\w+ )?)?"
    r"(?:jokes?|poems?|story|stories|songs?|haikus?|limericks?|riddles?|raps?|puns?|sonnets?|recipes?)\b",
)
_SUPERLATIVES = (  # what a question asks a mode to excel at (not "the latest release", "the most common problem")
    r"(?:most|least) (?:secure|mature|efficient|stable|performant|scalable|reliable|proven|lightweight|expensive|"
    r"complex|resource[- ]hungry)|fastest|cheapest|safest|simplest|easiest|lightest|smallest|leanest|strongest|"
    r"quickest|lowest[- ]\w+|highest[- ]\w+"
)
# Asking for advice, not for a fact: "should we ...", "is it worth ...", "would you ..."
ADVICE = re.compile(
    r"\b(?:should|shall|ought|worth|recommend\w*|advis\w*|suggest\w*|makes? sense|good (?:idea|fit|choice)|wise|"
    r"better off|right (?:choice|call|fit))\b"
)
RECOMMEND = _rx(
    r"\b(?:which|what) (?:\w+ )?(?:mode|data[- ]?plane|option|model|approach|architecture|mesh|one|setup|deployment)"
    r"s? (?:should|would|do you|fits|suits|is (?:the )?(?:best|right|better|ideal)|to (?:use|pick|choose|adopt)|"
    r"makes sense|works best)",
    r"\bshould (?:we|i) (?:use|pick|choose|go with|adopt|run|deploy|move to|switch to|migrate to|stick with|stay)",
    r"\b(?:do|would|can|could|will|should) you (?:recommend|suggest|advise|propose)\b|\byour (?:recommendation|advice)",
    r"\brecommend(?:ation)? for (?:us|me|our|my)\b|^\s*(?:please )?(?:recommend|suggest|advise)\b",
    r"\b(?:which|what) (?:mode|option|one|data ?plane|approach)\s*\??\s*$",
    r"\b(?:best|right|ideal|good|better) (?:fit|choice|option|mode|data ?plane|approach|pick) "
    r"for (?:us|me|our|my|a|an)\b",
    r"\bhelp (?:us|me) (?:choose|pick|decide)|\bwhat (?:would|should) (?:we|i|you) (?:do|choose|pick|use|recommend)",
    r"\b(?:which|what)(?:'s| is)?(?: \w+){0,4} (?:mode|data ?plane|option|approach|mesh|setup|choice|one|pick)\b"
    r".*\b(?:best|most|least|easiest|lightest|simplest|cheapest|fastest|safest|should|would|us|me|our|left)\b",
    r"\b(?:what|which) (?:\w+ )?should (?:a|an|the|our|my) [\w -]{1,40}? (?:use|pick|choose|run|adopt|go with)\b",
    r"^\s*should (?:a|an|the|our|my) [\w -]{1,40}? (?:use|pick|choose|run|adopt|go with|move to|switch to)\b",
    r"\bwhich (?:is|would be|one is) (?:best|better|right|the best) for (?:us|me|our|my)\b",
    r"\b(?:which|what) (?:mode|option|one) (?:for|fits)\b|\bwhich mode\b|\bwhat mode\b",
    rf"\b(?:which|what)(?:'s| is| are)? (?:the )?(?:best|right|ideal|recommended|preferred|{_SUPERLATIVES}) "
    r"(?:mode|data ?plane|option|approach|mesh|choice|pick|one)\b",
    r"\b(?:change|affect|alter|flip) (?:the|your) (?:pick|recommendation|choice|answer|ranking)\b",
    r"\b(?:make sense|a good fit|the right (?:choice|fit)|right|work) for (?:us|me|our \w+)\b",
    r"\bstill (?:the )?(?:best|right) (?:pick|choice|option|fit)\b",
)
COMPARE = _rx(
    r"\bwhich\b|\bor\b|\bside by side\b|\brank\w*|\bagainst\b|\bbetween\b|\bwins?\b",  # with two or more modes
    r"\bvs\.?\b|\bversus\b|\bcompar\w*|\bdifferen(?:ce|ces|t from)\b|\bdiffer\b|\bbetter than\b|\bworse than\b",
    r"\b(?:more|less) \w+ than\b|\b\w+er than\b|\bhow do(?:es)? .* stack up\b|\bpros and cons\b|\btrade-?offs?\b",
    r"\bwhich (?:is|one is|of them is|has) (?:more|less|the (?:most|least|lowest|highest|best)|better|faster|"
    r"cheaper|safer|simpler)",
    r"\b(?:advantages?|benefits?|upsides?|downsides?|drawbacks?|disadvantages?)\b.{0,80}?\b(?:over|compared "
    r"(?:to|with))\b",
)
SUPERLATIVE = re.compile(  # "which mode has the lowest latency?" (not "at the very least", "most of our services")
    r"(?<!\bat )(?<!\bvery )\b(?:most|least)\b(?! (?:of|we|i|you|they)\b)|\b(?:lowest|highest|best|worst|fewest|"
    r"fastest|cheapest|safest|simplest|easiest|lightest|smallest|leanest|strongest|weakest|slowest|quickest|heaviest)\b"
)
# A superlative ranks the modes only when they are its subject ("which mode has the lowest latency?"), not a way,
# a release or anything else ("the fastest way to install Istio", "the release with the most CVEs").
# A superlative at the bad end of a rated dimension: "the least secure", "worst for cross-AZ traffic", "the most
# expensive" (not "the least memory" or "the lowest latency", which are the good end).
LOWEST = re.compile(
    r"\b(?:worst|weakest|poorest|slowest|heaviest|hardest|riskiest|least (?:secure|mature|efficient|stable|proven|"
    r"performant|scalable|isolated|reliable)|most (?:expensive|costly|complex|complicated|painful|fragile|immature|"
    r"insecure|resource[- ]hungry|hops)|highest (?:latency|overhead|cost|costs)|lowest (?:security|maturity|"
    r"efficiency|rating|ratings|score|scores))\b"
)
MODES_AS_SUBJECT = re.compile(
    r"\b(?:modes?|options?|data ?planes?|approach(?:es)?|models?|choices?)\b|\bwhich (?:one|is|has)\b"
)
NOT_MODES_AS_SUBJECT = re.compile(r"\b(?:ways?|how to|releases?|versions?)\b")
# What a question about a mode's weak or strong points means in the corpus's words (its sections say "when not to
# choose it", "feature gaps", "when to choose it"): added to the question that retrieval and selection read.
ASPECTS: list[tuple[Aspect, re.Pattern[str], str]] = [
    (
        Aspect.STRENGTHS,
        re.compile(
            r"\b(?:upsides?|benefits?|advantages?|strengths?|pros)\b|\bwhy (?:use|choose|pick)\b"
            r"|\bwhen (?:should|would|do|does|to|is it (?:worth|best to)) (?:we |i |you |one |a team )?"
            r"(?:use|choose|pick|adopt|go with|run)\b|\bstrong (?:points?|suits?|sides?)\b"
        ),
        "when to choose it",
    ),
    (
        Aspect.WEAKNESSES,
        re.compile(
            r"\b(?:downsides?|drawbacks?|disadvantages?|cons|weakness(?:es)?|limitations?|shortcomings?|pitfalls?|"
            r"gotchas?|problems?|known issues|gaps?)\b"
            r"|\bwhat(?:'s| is) (?:the catch|missing)\b|\bwhat (?:can|could) go wrong\b"
            r"|\bweak (?:points?|spots?|sides?)\b|\bwhen (?:to|should (?:we|i|you|one)) avoid\b"
            r"|\bwhen (?:not to|shouldn't(?: we| i| you| one)?|should(?: we| i| you| one)? not) "
            r"(?:use|choose|pick|adopt)\b"
        ),
        "when to avoid it; feature gaps",
    ),
]
# A mode named as a whole, not by one of its parts ("ztunnel", "waypoint", "cluster mesh"), and the words that
# can stand around it in a question about the whole mode.
WHOLE_MODE = re.compile(
    r"\b(?:istio(?:'s)? )?(?:sidecars?|ambient|cilium|proxy-?less(?: grpc)?|grpc)(?:'s)?"
    r"(?:[- ](?:mode|model|service mesh|mesh|data ?plane|approach|option))?\b|\bclassic istio\b|\bistio classic\b"
)
YEAR = re.compile(r"\b20\d\d\b")
# "What's new lately?": a period without a year (a changes question needs a period).
RECENT = re.compile(r"\b(?:recent(?:ly)?|lately|latest|newest|so far)\b")
GENERIC_WORDS = frozenset(
    terms(
        "mode model mesh service data plane approach option istio main real really big biggest key top use run "
        "running adopt adopting choose picking us today now right production list worth"
    )
)
ALL_MODES = re.compile(r"\b(?:all|the) (?:four|4) (?:modes|models|options|data ?planes)\b|\ball (?:the )?modes\b")
WHAT_IF = re.compile(
    r"\bwhat if (?:we|i|our)\b|\b(?:and|but) (?:if|what if) (?:we|i|our|all|every|none|most|some|half)\b"
    r"|\bsuppose (?:we|i)\b"
)
ANAPHORA = re.compile(
    r"\b(?:it|its|it's|itself|that|this|those|these|them|they|their)\b(?! (?:is|are) (?:a|an|the)\b)"
    r"|\bthe (?:first|second|top|recommended|winning|chosen|same|other|runner[- ]up|last) (?:one|option|mode|pick|"
    r"choice)\b|\bthe runner[- ]up\b"
)
FOLLOWUP_OPENER = re.compile(r"^\s*(?:and|what about|how about|but|also|ok(?:ay)?,?|so|then)\b")
# Words a follow-up may consist of without saying anything of its own ("and that one?", "how much?", "why?").
FOLLOWUP_WORDS = frozenset(terms("what about how much many why then also okay ok so instead one option mode pick"))
# Words that point at a place in the ranking an earlier answer gave: (pattern, index into that ranking).
ORDINALS: list[tuple[re.Pattern[str], int]] = [
    (
        re.compile(
            r"\brunner[- ]?ups?\b|\bsecond\b|\b2nd\b|\bnext best\b|\bnumber two\b"
            r"|\bthe other (?:one|option|mode|pick|choice)\b"  # the other of the two an answer leads with
        ),
        1,
    ),
    (re.compile(r"\bthird\b|\b3rd\b"), 2),
    (re.compile(r"\bfourth\b|\b4th\b|\b(?:the )?last (?:one|option|mode|place|pick|choice)\b"), -1),
    (
        re.compile(
            r"\b(?:one|option|mode) (?:you|u) (?:recommended|picked|chose|suggested|proposed)\b"
            r"|\byour (?:top )?(?:pick|recommendation|choice|suggestion)\b"
            r"|\bthe (?:top|first|recommended|winning|chosen|suggested) (?:one|option|pick|choice|mode)\b"
            r"|\bthe (?:pick|winner)\b|\bfirst (?:one|option|choice|pick)\b"
        ),
        0,
    ),
]
# Words that point at the first two places of the ranking an earlier answer gave ("how far apart are those two?").
PAIR = re.compile(r"\b(?:those|these|the|your|top|first) (?:two|2)\b|\bboth (?:of them|options|modes|picks)\b")
# The two things a difference question sets side by side: "the difference between X and Y", "X vs Y".
SIDES = re.compile(
    r"\b(?:difference|differences|differ|distinction)\s+between\s+(?P<first>.+?)\s+and\s+(?P<second>.+)"
    r"|(?P<left>.+?)\s+(?:vs\.?|versus|compared (?:to|with))\s+(?P<right>.+)"
    r"|\bhow (?:do|does|is|are)\s+(?P<one>.+?)\s+and\s+(?P<two>.+?)\s+(?:differ|different)\b"
)
_SIDE_GROUPS = [("first", "second"), ("left", "right"), ("one", "two")]
_CLAUSE_END = re.compile(r"\s*(?:[:;?!,(]|\s[-–—]\s|\.(?:\s|$))")
_ARTICLE = re.compile(r"^(?:an?|the)\s+", re.IGNORECASE)
_QUESTION_OPENING = re.compile(r"^(?:(?:so|ok|okay|and|but|what's|what is|whats|is|are|the)\s+)+")
# Markup a reader never sees, which only a model would read: an HTML comment is never part of a question.
HIDDEN_MARKUP = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
# A clause in which the user says their platform has or needs something ("we run CronJobs", "our EnvoyFilters").
NEED = re.compile(
    r"\b(?:we|our|us|i|my|we're|we've|we'd|i'm)\b|\b(?:need|needs|needed|require|requires|required|must|"
    r"depend(?:s|ing)? on|rel(?:y|ies|ying) on|can't (?:give up|lose|drop)|cannot (?:give up|lose|drop))\b"
)
# Parts of the data planes a question can be about, by their names (for definitions and differences).
COMPONENTS: dict[str, re.Pattern[str]] = {
    "ztunnel": re.compile(r"\bztunnels?\b"),
    "waypoint": re.compile(r"\bwaypoints?\b"),
    "HBONE": re.compile(r"\bhbone\b"),
    "istiod": re.compile(r"\bistiod\b|\bcontrol plane\b"),
    "istio-cni": re.compile(r"\bistio[- ]cni\b"),
    "grpc-agent": re.compile(r"\bgrpc[- ]agent\b|\bistio-agent\b"),
    "Envoy": re.compile(r"\benvoy\b(?!\s?filter)"),
    "eBPF": re.compile(r"\bebpf\b"),
    "xDS": re.compile(r"\bxds\b"),
    "WireGuard": re.compile(r"\bwire ?guard\b"),
    "IPsec": re.compile(r"\bipsec\b"),
    "mutual authentication": re.compile(r"\bmutual auth(?:entication)?\b"),
    "EnvoyFilter": re.compile(r"\benvoy ?filters?\b"),
    "WasmPlugin": re.compile(r"\bwasm ?plugins?\b|\bwasm\b"),
    "Gateway API": re.compile(r"\bgateway api\b|\bhttproutes?\b|\bgamma\b"),
    "VirtualService": re.compile(r"\bvirtual ?services?\b"),
    "AuthorizationPolicy": re.compile(r"\bauthori[sz]ation ?polic(?:y|ies)\b|\bauthz\b"),
    "PeerAuthentication": re.compile(r"\bpeer ?authentication\b"),
    "NetworkPolicy": re.compile(r"\bnetwork ?polic(?:y|ies)\b"),
    "SPIFFE": re.compile(r"\bspiffe\b"),
    "SPIRE": re.compile(r"\bspire\b"),
    "CiliumEnvoyConfig": re.compile(r"\bcilium ?(?:clusterwide ?)?envoy ?configs?\b|\bc?cec\b"),
    "kube-proxy replacement": re.compile(r"\bkube-?proxy[- ]?(?:replacement|free)\b"),
    "native sidecars": re.compile(r"\bnative sidecars?\b|\bsidecar containers\b"),
    "Hubble": re.compile(r"\bhubble\b"),
    "Kiali": re.compile(r"\bkiali\b"),
}


def find_components(text: str) -> list[str]:
    """The components `text` names, in order of first mention."""
    found = [(match.start(), name) for name, pattern in COMPONENTS.items() if (match := pattern.search(text))]
    return [name for _, name in sorted(found)]


DOMAIN = re.compile(
    r"\b(?:mesh|modes?|data ?planes?|istio|envoy|prox(?:y|ies)|sidecars?|ambient|cilium|grpc|xds|ztunnel|"
    r"waypoints?|hbone|ebpf|mtls|tls|"
    r"kubernetes|k8s|clusters?|pods?|cni|data ?plane|control ?plane|linkerd|spiffe|spire|nist|microservices?|l4|l7|"
    r"gateways?|certificates?|encryption|zero[- ]trust|network ?polic(?:y|ies)|envoyfilter|wasm|ingress|egress|"
    r"latency|istiod|services?|workloads?|namespaces?|daemonset|helm|openshift|gke|eks|aks|consul|kuma)\b"
)


def find_modes(text: str) -> list[Mode]:
    """The modes `text` names, in order of first mention ("gRPC" spoken by services does not count)."""
    masked = mask(text, GRPC_AS_PROTOCOL)
    found = [(match.start(), mode) for mode, pattern in MODE_PATTERNS.items() if (match := pattern.search(masked))]
    return [mode for _, mode in sorted(found)]


def with_istio(text: str, named: list[Mode]) -> list[Mode]:
    """`named` with Istio, named as a whole, standing for both its data planes where the question weighs it as a
    mode: its strong or weak points ("the downsides of Istio") or against another named mode ("Istio vs
    Cilium"); not "we use Istio, should we switch to Cilium?" nor "how does Linkerd compare to Istio?"."""
    istio = WHOLE_ISTIO.search(text)
    if istio is None or {Mode.SIDECAR, Mode.AMBIENT} & set(named):
        return named
    weighed = any(pattern.search(text) for _, pattern, _ in ASPECTS) or (bool(named) and COMPARE.search(text))
    if not weighed:
        return named
    masked = mask(text, GRPC_AS_PROTOCOL)
    before = [mode for mode in named if (m := MODE_PATTERNS[mode].search(masked)) and m.start() < istio.start()]
    return [*before, Mode.SIDECAR, Mode.AMBIENT, *[mode for mode in named if mode not in before]]


def about_a_whole_mode(text: str) -> bool:
    """Whether `text` asks about modes as wholes ("the downsides of ambient", "pros and cons of sidecar"), not
    about one of their parts or features ("the limitations of ambient multicluster", "upgrading ztunnel")."""
    return not beyond_whole_modes(text)


def beyond_whole_modes(text: str) -> set[str]:
    """The words of `text` besides the modes as wholes, the aspects and dimensions it asks about, years and
    generic words: "multicluster" in "where does ambient multicluster stand?"."""
    rest = text.lower()
    for pattern in [WHOLE_MODE, YEAR, *(p for _, p, _ in ASPECTS), *(p for _, p in DIMENSION_PATTERNS)]:
        rest = pattern.sub(" ", rest)
    return set(terms(rest)) - GENERIC_WORDS


def sides(text: str) -> tuple[str, str] | None:
    """The two things `text` asks the difference between, as written ("ztunnel", "a per-service waypoint")."""
    found = SIDES.search(text)
    if found is None:
        return None
    first, second = next((found[a], found[b]) for a, b in _SIDE_GROUPS if found[a])
    first = _CLAUSE_END.split(first)[-1]  # "quick one: X vs Y" -> "X"
    first = _QUESTION_OPENING.sub("", first.strip())
    second = _CLAUSE_END.split(second, maxsplit=1)[0].strip()  # "Y: who does what?" -> "Y"
    return (_with_shared_head(first, second), second) if first and second else None


def _with_shared_head(first: str, second: str) -> str:
    """`first` completed by the component that ends `second` when the two are modifiers of one head: "an L4 and
    an L7 AuthorizationPolicy" sets an L4 AuthorizationPolicy against an L7 one. A first side that names
    something itself ("ztunnel vs a namespace waypoint") stands as written."""
    modifier = _ARTICLE.sub("", first)
    words = _ARTICLE.sub("", second).split()
    if len(modifier.split()) != 1 or len(words) < 2 or find_components(first.lower()) or find_modes(first.lower()):
        return first
    head = " ".join(words[1:])
    return f"{modifier} {head}" if find_components(head.lower()) else first


def find_dimensions(text: str) -> list[Dimension]:
    found: list[tuple[int, Dimension]] = []
    remaining = text
    for dimension, pattern in DIMENSION_PATTERNS:
        match = pattern.search(remaining)
        if match:
            found.append((match.start(), dimension))
            remaining = mask(remaining, pattern)
    return [dimension for _, dimension in sorted(found)]


def mask(text: str, pattern: re.Pattern[str]) -> str:
    """`text` with every match of `pattern` blanked out (same length, so positions stay valid)."""
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def phrase_requirements(sentence: str) -> tuple[dict[str, Any], list[str]]:
    """Requirement fields stated by fixed phrases in one sentence, and the names of the phrases that fired."""
    sets: dict[str, Any] = {}
    fired: list[str] = []
    # A question in the third person asks about the modes ("which mode has the lowest latency?"): it states no
    # priority; if it names a mode ("can Cilium mesh VMs?") it states no fact about the user's platform either.
    # A what-if states a platform to consider ("and if all services spoke gRPC?"), whoever it names.
    third_person_question = is_question(sentence) and not FIRST_PERSON.search(sentence) and not WHAT_IF.search(sentence)
    about_a_mode = third_person_question and bool(find_modes(sentence)) and not RECOMMEND.search(sentence)
    for phrase in PHRASES:
        if (third_person_question and not phrase.in_questions) or about_a_mode:
            continue
        matches = list(phrase.pattern.finditer(sentence))
        if not matches:
            continue
        # "the VMs get retired, so no VMs after that": any mention negated negates the phrase
        negated = phrase.negated is not None and any(
            NEGATION.search(sentence[: match.start()][-40:]) is not None for match in matches
        )
        chosen = phrase.negated if negated and phrase.negated is not None else phrase.sets
        for name, value in chosen.items():
            sets.setdefault(name, value)
        fired.append(phrase.name + ("(negated)" if negated else ""))
    if sets.get("regulated") is True:
        sets.setdefault("security", "high")
    return sets, fired


QUESTION_START = re.compile(
    r"^\s*(?:what|how|when|why|where|who|which|is|are|does|do|can|could|will|would|has|have|did|should|"
    r"explain|describe|tell me|define|list|show)\b"
)


def is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith("?") or QUESTION_START.search(sentence) is not None


def stance_requirements(clause: str, sentence: str) -> dict[str, Any]:
    """Priorities raised (or lowered) by "<first person> ... <topic> ... <importance>" in one clause of
    `sentence` (which may hold the first person: "we care little about latency but a lot about cost"). Each topic
    takes the nearest stance word: "care little about latency" lowers latency, "a lot about cost" raises cost; a
    topic after "than" takes the opposite of a stance before it ("latency matters less than cost")."""
    if (
        not FIRST_PERSON.search(sentence)
        and not re.search(r"\b(?:matter(?:s|ed)?|priority|critical|crucial)\b", clause)
        and not DOWNPLAY.search(clause)
    ):
        return {}
    downplayed = [match.span() for match in DOWNPLAY.finditer(clause)]
    raised = [
        match.span()
        for match in IMPORTANCE.finditer(clause)
        if not any(start <= match.start() < end for start, end in downplayed)  # "not a priority": one stance
    ]
    stances = [(span, "low") for span in downplayed] + [(span, "high") for span in raised]
    if not stances:
        return {}
    than = re.search(r"\bthan\b", clause)
    found: dict[str, Any] = {}
    for priority, topic in STANCE_TOPICS.items():
        match = topic.search(clause)
        if match is not None and _NEGATED_TOPIC.search(clause[: match.start()]) is None:  # "no compliance scope"
            span, level = min(stances, key=lambda stance: (_gap(match.span(), stance[0]), stance[1] != "low"))
            if than is not None and span[1] <= than.start() < match.start():
                level = "high" if level == "low" else "low"
            found[priority.value] = level
    return found


_NEGATED_TOPIC = re.compile(r"\b(?:no|not|without|zero)\s+(?:real\s+|strict\s+|special\s+)?$")


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """The number of characters between two spans (0 when they touch or overlap)."""
    return max(0, b[0] - a[1], a[0] - b[1])
