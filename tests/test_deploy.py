"""Deployment files: the Dockerfile passes hadolint and runs deploy/runtime.sh (what tests/test_wheel.py runs),
every object kustomize renders for each overlay is valid against the Kubernetes schemas and wired together, and
the compose file runs the API, the UI and a Chroma server from the one image."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from assistant.config import PROJECT_ROOT, Settings

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
KUBERNETES = PROJECT_ROOT / "deploy" / "kubernetes"
OVERLAYS = ["trial", "production"]
KUBERNETES_VERSION = "1.32.0"  # the oldest release still supported upstream when this was written
HADOLINT = Path(sys.executable).parent / "hadolint"


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HADOLINT), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60)


def test_the_dockerfile_passes_hadolint(tmp_path: Path) -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    as_root = tmp_path / "Dockerfile"
    as_root.write_text(DOCKERFILE.read_text().replace("USER 10001", "USER root"))
    assert "DL3002" in hadolint(as_root).stdout  # the linter's rules are really on


def stages(dockerfile: str) -> dict[str, list[str]]:
    """Each stage's instructions, continuation lines joined."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in dockerfile.replace("\\\n", " ").splitlines():
        if line.startswith("FROM "):
            current = found.setdefault(line.split(" AS ")[-1].strip(), [])
        elif line.strip() and not line.startswith("#"):
            current.append(line)
    return found


def test_the_runtime_stage_runs_the_tested_script_as_a_user_without_torch() -> None:
    built = stages(DOCKERFILE.read_text())
    assert list(built) == ["build", "runtime"]
    runtime = built["runtime"]
    runs = [line for line in runtime if line.startswith("RUN ")]
    assert len(runs) == 1 and runs[0].startswith("RUN /opt/mesh-assistant/runtime.sh ")  # the wheel test's steps
    assert "COPY .ci/constraints.txt deploy/runtime.sh /opt/mesh-assistant/" in runtime
    assert not any("torch" in line or "[export]" in line for line in runtime)
    assert [line for line in runtime if line.startswith("USER ")] == ["USER 10001"]
    assert any(line.startswith("HEALTHCHECK ") and "/readyz" in line for line in runtime)
    assert 'ENTRYPOINT ["assistant"]' in runtime  # serve (the default), ui or index by the command
    assert any("export-model" in line for line in built["build"])


def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl (with kustomize) is needed: it renders deploy/kubernetes/")
    result = subprocess.run(
        [kubectl, "kustomize", str(KUBERNETES / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def containers(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) for every container of every workload."""
    for workload in objects:
        if workload["kind"] in ("Deployment", "StatefulSet", "Job"):
            for container in workload["spec"]["template"]["spec"]["containers"]:
                yield workload, container


def test_every_rendered_object_is_valid_against_the_kubernetes_schemas(rendered: list[dict[str, Any]]) -> None:
    custom = []
    for document in rendered:
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            custom.append(document["kind"])
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{document['kind']} {document['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert set(custom) <= {"ServiceMonitor"}  # the one custom resource (Prometheus Operator), checked below


def test_an_invalid_object_is_caught() -> None:
    deployment = named(render("trial"), "Deployment", "mesh-assistant-api")
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_services_select_their_pods_and_probes_use_named_ports(rendered: list[dict[str, Any]]) -> None:
    pods = {
        w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"]
        for w in rendered
        if w["kind"] in ("Deployment", "StatefulSet")
    }
    for service in (o for o in rendered if o["kind"] == "Service"):
        selector = service["spec"]["selector"].items()
        assert [name for name, labels in pods.items() if selector <= labels.items()] == [service["metadata"]["name"]]
    for workload, container in containers(rendered):
        ports = {port["name"] for port in container.get("ports", [])}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["port"] in ports, (workload["metadata"]["name"], probe)
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert workload["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_the_api_is_probed_ready_on_readyz_and_reads_its_secrets_and_chroma(rendered: list[dict[str, Any]]) -> None:
    api = named(rendered, "Deployment", "mesh-assistant-api")["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"configMapRef": {"name": "mesh-assistant"}} in api["envFrom"]
    assert any(source.get("secretRef", {}).get("name") == "mesh-assistant" for source in api["envFrom"])
    config = named(rendered, "ConfigMap", "mesh-assistant")["data"]
    chroma = named(rendered, "Service", "mesh-assistant-chroma")["spec"]["ports"][0]["port"]
    assert config["ASSISTANT_CHROMA_URL"] == f"http://mesh-assistant-chroma:{chroma}"
    job = named(rendered, "Job", "mesh-assistant-index")["spec"]["template"]["spec"]["containers"][0]
    assert job["args"] == ["index"] and {"configMapRef": {"name": "mesh-assistant"}} in job["envFrom"]
    statefulset = named(rendered, "StatefulSet", "mesh-assistant-chroma")["spec"]
    [claim] = statefulset["volumeClaimTemplates"]
    mounts = statefulset["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/chroma"} in mounts


def test_the_trial_is_one_pod_without_keys_and_production_requires_them() -> None:
    trial, production = render("trial"), render("production")
    trial_api = named(trial, "Deployment", "mesh-assistant-api")["spec"]
    assert trial_api["replicas"] == 1
    assert {"name": "ASSISTANT_AUTH", "value": "none"} in trial_api["template"]["spec"]["containers"][0]["env"]
    assert not [o for o in trial if o["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget")]

    api = named(production, "Deployment", "mesh-assistant-api")["spec"]
    container = api["template"]["spec"]["containers"][0]
    assert "replicas" not in api and "env" not in container  # the autoscaler sets replicas; keys are required
    assert {"secretRef": {"name": "mesh-assistant", "optional": False}} in container["envFrom"]
    autoscaler = named(production, "HorizontalPodAutoscaler", "mesh-assistant-api")["spec"]
    budget = named(production, "PodDisruptionBudget", "mesh-assistant-api")["spec"]
    assert autoscaler["scaleTargetRef"]["name"] == "mesh-assistant-api"
    assert budget["minAvailable"] < autoscaler["minReplicas"]  # a node can always be drained
    assert budget["selector"]["matchLabels"].items() <= api["template"]["metadata"]["labels"].items()
    monitor = named(production, "ServiceMonitor", "mesh-assistant-api")["spec"]
    service = named(production, "Service", "mesh-assistant-api")
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["endpoints"][0]["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert {o["metadata"].get("namespace") for o in production if o["kind"] != "Namespace"} == {"mesh-assistant"}


def test_only_the_api_and_the_index_job_reach_chroma(rendered: list[dict[str, Any]]) -> None:
    policy = named(rendered, "NetworkPolicy", "mesh-assistant-chroma")["spec"]
    peers = policy["ingress"][0]["from"]
    allowed = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in peers}
    assert allowed == {"api", "index"}
    chroma_pods = named(rendered, "StatefulSet", "mesh-assistant-chroma")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= chroma_pods.items()


def test_compose_runs_the_api_the_ui_and_chroma_from_one_image() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"api", "ui", "chroma", "index"}
    assert {service["image"] for service in services.values()} == {"mesh-assistant:0.1.0"}
    assert services["api"]["command"][0] == "serve" and services["ui"]["command"][0] == "ui"
    assert services["index"]["command"] == ["index"] and services["chroma"]["entrypoint"] == ["chroma"]
    assert services["api"]["environment"]["ASSISTANT_CHROMA_URL"] == "http://chroma:8000"
    assert services["ui"]["environment"]["ASSISTANT_API_URL"] == "http://api:8000"
    assert services["api"]["depends_on"]["index"]["condition"] == "service_completed_successfully"
    for name in ("api", "ui"):
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"])  # loopback of the host
    assert (PROJECT_ROOT / services["api"]["build"]["context"].replace("..", ".") / "Dockerfile").is_file()


def test_every_setting_the_deploy_files_name_is_one_the_assistant_reads(rendered: list[dict[str, Any]]) -> None:
    """A misspelt ASSISTANT_* variable would be ignored silently (the settings ignore unknown names)."""
    known = {f"ASSISTANT_{name.upper()}" for name in Settings.model_fields}
    compose = yaml.safe_load((PROJECT_ROOT / "deploy" / "compose.yaml").read_text())
    named_here = {name for service in compose["services"].values() for name in service.get("environment", {})}
    for config in (o for o in rendered if o["kind"] == "ConfigMap"):
        named_here |= set(config["data"])
    for _, container in containers(rendered):
        named_here |= {variable["name"] for variable in container.get("env", [])}
    assert {"ASSISTANT_DATABASE_URL", "ASSISTANT_REDIS_URL"} <= named_here
    assert {name for name in named_here if name.startswith("ASSISTANT_")} - known == set()
