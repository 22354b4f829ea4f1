"""An example for every schema in the OpenAPI document (added to the generated components)."""

from __future__ import annotations

from typing import Any

CITATION = {
    "n": 1,
    "chunk_id": "rating:sidecar:security",
    "doc_id": "ratings",
    "title": "Ratings: Sidecar",
    "section": "Security",
    "source_url": "https://istio.io/latest/docs/overview/dataplane-modes/",
    "snippet": "Every workload gets its own Envoy and its own keys.",
    "modes": ["sidecar"],
}
REASON = {
    "text": "Sidecar is rated 5/5 for security, which you weigh high: Every workload gets its own Envoy.",
    "ref": "rating:sidecar:security",
}
CONTRIBUTION = {"dimension": "security", "level": "high", "weight": 8.0, "rating": 5, "points": 40.0}
RANKED = {
    "mode": "sidecar",
    "rank": 1,
    "score": 0.83,
    "points": 54.0,
    "contributions": [CONTRIBUTION],
    "adjustment": 0.0,
    "reasons": [REASON],
    "caveats": [],
}
CHANGE = {"kind": "priority", "name": "security", "before": "high", "after": "medium"}
COUNTERFACTUAL = {
    "change": CHANGE,
    "mode": "ambient",
    "text": "If security mattered less (medium instead of high), Ambient would lead.",
}
EXCLUDED = {
    "mode": "grpc",
    "reason": {
        "text": "Proxyless gRPC meshes only gRPC traffic, and none of your services speak gRPC.",
        "ref": "capability:non_grpc_traffic:grpc",
    },
}
REQUIREMENTS = {"security": "high", "regulated": True}
CLUSTER = {"nodes": 40, "pods": 1200, "l7_scopes": 5, "requests_per_second": 10000, "grpc_share": 0.3, "zones": 3}
SOURCE = {
    "url": "https://istio.io/latest/docs/ops/deployment/performance-and-scalability/",
    "doc": "sidecar",
    "section": "Resource cost > Istio 1.24 sidecar figure and test setup",
}
COMPONENT_ESTIMATE = {
    "component": "sidecar_envoy",
    "label": "Envoy sidecar",
    "per": "pod",
    "copies": 1200,
    "cpu_millicores": 4000.0,
    "memory_mb": 72000.0,
    "basis": "1,200 copies (per pod); CPU: about 0.20 vCPU per 1,000 requests per second through one copy, times "
    "10,000 requests per second, times 2; memory: about 60 MB per copy.",
    "figure": "about 0.20 vCPU and about 60 MB per pod (Istio 1.24; 1000 HTTP requests per second with 1 KB "
    "payloads; one sidecar with 2 worker threads)",
    "source": SOURCE,
    "path_source": {
        "url": "https://istio.io/latest/docs/overview/dataplane-modes/",
        "doc": "benchmarks",
        "section": "Istio's comparison-table latency",
    },
    "read": "2026-04-15",
}
MODE_ESTIMATE = {
    "mode": "sidecar",
    "cpu_millicores": 4000.0,
    "memory_mb": 72000.0,
    "complete": True,
    "components": [COMPONENT_ESTIMATE],
    "notes": [],
}
ESTIMATE = {
    "cluster": CLUSTER,
    "modes": [MODE_ESTIMATE],
    "assumptions": ["Memory is paid once per copy and does not grow with load."],
    "as_of": "2026-04-15",
}
RECOMMENDATION = {
    "requirements": REQUIREMENTS,
    "effective": {"security": "high", "resources": "medium", "grpc": "unknown", "regulated": "true"},
    "ranking": [RANKED],
    "excluded": [EXCLUDED],
    "assumptions": ["Not stated, so weighed medium: resource constraints."],
    "counterfactuals": [COUNTERFACTUAL],
    "margin": 0.06,
}
PROFILE = {
    "mode": "ambient",
    "strengths": [
        {
            "text": "Ambient is rated 5/5 for manageability: Enrolment is a namespace label.",
            "ref": "rating:ambient:manageability",
        }
    ],
    "weaknesses": [
        {
            "text": "Meshing VM workloads outside Kubernetes, not supported in Ambient (as of 2026-04-15): VM "
            "workloads are a hard blocker for ambient mode.",
            "ref": "capability:vm_workloads:ambient",
        }
    ],
}
CONFIDENCE = {"score": 0.76, "label": "high"}
RETRIEVED = {"chunk_id": "sidecar#3f2a9c1d0b7e4a55", "doc_id": "sidecar", "modes": ["sidecar"], "score": 0.0325}
ANSWER = {
    "id": "9f1c2b7e8a6d4c3b9a1e2f3d4c5b6a79",
    "question": "We're a bank with strict isolation needs. Which mode?",
    "text": "**Sidecar** is the best fit for what you described.\n\n- Sidecar is rated 5/5 for security [1].",
    "intent": "recommend",
    "kind": "recommend",
    "citations": [CITATION],
    "recommendation": RECOMMENDATION,
    "requirements": REQUIREMENTS,
    "modes": [],
    "dimensions": ["security"],
    "resolved_question": "We're a bank with strict isolation needs. Which mode?",
    "refused": False,
    "confidence": CONFIDENCE,
    "notes": [],
    "retrieved": [RETRIEVED],
    "grounds": ["rating:sidecar:security"],
    "timings": {"understand": 3.4, "compose": 2.9, "total": 6.3},
}
TURN = {"role": "user", "content": "We're a bank. Which mode?"}
FEEDBACK = {
    "id": 1,
    "answer_id": ANSWER["id"],
    "rating": "up",
    "comment": "Clear and sourced.",
    "source": "key:1a2b3c4d5e6f",
    "created_at": "2026-11-26T10:00:00+00:00",
}
ERROR = {
    "code": "index_not_built",
    "message": "No index has been built yet.",
    "hint": "Build it with `assistant index`.",
}
OPENAI_ERROR = {
    "message": "A valid API key is required: send `Authorization: Bearer <key>`.",
    "type": "authentication_error",
    "param": None,
    "code": "unauthorized",
}

EXAMPLES: dict[str, Any] = {
    "AskRequest": {"question": ANSWER["question"], "history": [TURN]},
    "Turn": TURN,
    "Answer": ANSWER,
    "Citation": CITATION,
    "Confidence": CONFIDENCE,
    "RetrievedPassage": RETRIEVED,
    "Recommendation": RECOMMENDATION,
    "Profile": PROFILE,
    "RankedMode": RANKED,
    "Contribution": CONTRIBUTION,
    "Reason": REASON,
    "ExcludedMode": EXCLUDED,
    "Counterfactual": COUNTERFACTUAL,
    "Change": CHANGE,
    "Requirements": REQUIREMENTS,
    "ClusterSize": CLUSTER,
    "SourceRef": SOURCE,
    "ComponentEstimate": COMPONENT_ESTIMATE,
    "ModeEstimate": MODE_ESTIMATE,
    "Estimate": ESTIMATE,
    "RecommendRequest": {"requirements": {"resources": "high", "grpc": "all"}},
    "PassagePublic": {
        "chunk_id": RETRIEVED["chunk_id"],
        "doc_id": "sidecar",
        "title": "Sidecar mode: Istio's classic per-workload Envoy data plane",
        "section": "Resource cost",
        "modes": ["sidecar"],
        "score": 0.0325,
        "similarity": 0.61,
        "text": "One sidecar with 2 worker threads uses about 0.20 vCPU and 60 MB at 1000 requests per second.",
        "source_url": "https://istio.io/latest/docs/ops/deployment/performance-and-scalability/",
        "as_of": "2026-04-15",
    },
    "ModePublic": {"id": "ambient", "label": "Ambient", "summary": "A shared per-node ztunnel handles L4."},
    "ChatMessage": {"role": "user", "content": "Which mode for a two-person team?"},
    "ContentPart": {"type": "text", "text": "Which mode for a two-person team?"},
    "ChatCompletionRequest": {
        "model": "mesh-assistant",
        "messages": [{"role": "user", "content": "Which mode for a two-person team?"}],
        "stream": False,
    },
    "StreamOptions": {"include_usage": True},
    "ModelPublic": {"id": "mesh-assistant", "object": "model", "created": 1776211200, "owned_by": "mesh-assistant"},
    "ModelList": {
        "object": "list",
        "data": [{"id": "mesh-assistant", "object": "model", "created": 1776211200, "owned_by": "mesh-assistant"}],
    },
    "OpenAIErrorDetail": OPENAI_ERROR,
    "OpenAIErrorResponse": {"error": OPENAI_ERROR},
    "FeedbackRequest": {"answer_id": ANSWER["id"], "rating": "up", "comment": "Clear and sourced."},
    "FeedbackPublic": FEEDBACK,
    "FeedbackSummaryPublic": {"total": 3, "up": 2, "down": 1, "recent": [FEEDBACK]},
    "ErrorDetail": ERROR,
    "ErrorResponse": {"error": ERROR},
    "Readiness": {
        "status": "ready",
        "generation": "mesh-g20261126101500000000",
        "chunks": 436,
        "model": "all-MiniLM-L6-v2",
        "built_at": "2026-11-26T10:15:00+00:00",
        "stale": False,
    },
    "HTTPValidationError": {"detail": [{"loc": ["body", "question"], "msg": "Field required", "type": "missing"}]},
    "ValidationError": {"loc": ["body", "question"], "msg": "Field required", "type": "missing"},
}


def add_examples(schema: dict[str, Any]) -> dict[str, Any]:
    """Give every component schema an example: from EXAMPLES, or an enum's first value."""
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        if "examples" in component or "example" in component:
            continue
        if name in EXAMPLES:
            component["examples"] = [EXAMPLES[name]]
        elif "enum" in component:
            component["examples"] = [component["enum"][0]]
    return schema
