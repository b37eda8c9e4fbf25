"""The deployment files, checked statically (no container engine runs here): they parse, every
process has probes and limits, images are pinned, every variable they set is a real setting, and
the commands they run exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from zhengban.cli import build_parser
from zhengban.processes import PROCESSES, app_module

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_FILES = sorted((DEPLOY / "k8s").rglob("*.yaml"))
# Variables of the commands and the entrypoint (no settings class), and of third-party images.
OTHER_VARIABLES = {"ZHENGBAN_DATA_DIR", "ZHENGBAN_DATABASE_URL", "ZHENGBAN_DATABASE_PREFIX", "ZHENGBAN_ADMIN_PASSWORD",
                   "NATS_URL", "ZHENGBAN_WAIT_FOR", "ZHENGBAN_WAIT_TIMEOUT", "ZHENGBAN_INTERNAL_TOKEN",
                   "ZHENGBAN_REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
                   "OTEL_SERVICE_NAME", "ZHENGBAN_TRACES_DIR", "ZHENGBAN_TRUSTED_PROXIES",
                   "ZHENGBAN_OIDC_ISSUER", "ZHENGBAN_OIDC_CLIENT_ID", "ZHENGBAN_OIDC_CLIENT_SECRET",
                   "ZHENGBAN_OIDC_USERNAME_CLAIM"}
POSTGRES_IMAGE_VARIABLES = {"POSTGRES_USER", "POSTGRES_PASSWORD"}


def settings_variables() -> set[str]:
    """Every variable a settings class reads, from the classes themselves."""
    names = set()
    for process in PROCESSES:
        cls = app_module(process).SETTINGS
        names |= {cls.model_config["env_prefix"] + field.upper() for field in cls.model_fields}
    return names


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def k8s_documents() -> list[dict]:
    docs = []
    for path in K8S_FILES:
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict)]
    return docs


def containers(doc: dict) -> list[dict]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", []) if doc.get("kind") in ("Deployment", "Job") else []


def test_every_file_parses():
    assert compose()["services"]
    assert len(K8S_FILES) >= 9
    kinds = {doc["kind"] for doc in k8s_documents() if "kind" in doc}
    assert {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Job", "ConfigMap",
            "Kustomization"} <= kinds


def test_compose_runs_a_nats_cluster_postgres_migrate_and_two_replicas_of_each_service():
    services = compose()["services"]
    assert {"nats-1", "nats-2", "nats-3", "postgres", "migrate", "gateway", "budget", "procurement",
            "licenses"} <= set(services)
    for name in ("budget", "procurement", "licenses"):
        assert services[name]["deploy"]["replicas"] == 2
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["environment"][f"ZHENGBAN_{name.upper()}_NATS_STREAM_REPLICAS"] == "3"
    for name in ("nats-1", "nats-2", "nats-3"):
        command = services[name]["command"]
        assert "-js" in command and "--routes" in command and "--cluster_name" in command


def test_every_long_running_service_has_a_health_check_and_limits():
    for name, service in compose()["services"].items():
        assert service["deploy"]["resources"]["limits"], name
        if name != "migrate":
            assert service["healthcheck"]["test"], name
    for doc in k8s_documents():
        for container in containers(doc):
            assert container["resources"]["requests"] and container["resources"]["limits"], doc["metadata"]
            if doc["kind"] == "Deployment":
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_every_deployment_has_a_disruption_budget_an_autoscaler_and_a_service():
    docs = k8s_documents()
    deployments = {d["metadata"]["name"] for d in docs if d.get("kind") == "Deployment"}
    assert deployments == {f"zhengban-{p}" for p in PROCESSES}
    assert {d["metadata"]["name"] for d in docs if d.get("kind") == "PodDisruptionBudget"} == deployments
    # Redis (a StatefulSet) has a Service too.
    assert {d["metadata"]["name"] for d in docs if d.get("kind") == "Service"} == deployments | {"zhengban-redis"}
    scaled = {d["spec"]["scaleTargetRef"]["name"] for d in docs if d.get("kind") == "HorizontalPodAutoscaler"}
    assert scaled == deployments


def test_images_are_pinned():
    images = [s["image"] for s in compose()["services"].values()]
    images += [c["image"] for d in k8s_documents() for c in containers(d)]
    images += re.findall(r"^FROM\s+(\S+)", (DEPLOY / "Dockerfile").read_text(), re.M)
    images.append("nats:" + yaml.safe_load((DEPLOY / "k8s/nats-values.yaml").read_text())["container"]["image"]["tag"])
    for image in images:
        name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
        assert tag and tag != "latest" and re.search(r"\d", tag), image


def test_the_image_runs_as_a_user_and_not_as_root():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^USER 10001", dockerfile, re.M)
    for doc in k8s_documents():
        if containers(doc):
            assert doc["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def pod_specs() -> list[tuple[str, dict]]:
    return [(doc["metadata"]["name"], doc["spec"]["template"]["spec"]) for doc in k8s_documents() if containers(doc)]


def test_every_pod_meets_the_restricted_pod_security_standard():
    """The "restricted" level of Kubernetes' Pod Security Standards, which government clusters
    enforce per namespace: a pod that misses one of these is refused at admission."""
    assert pod_specs()
    for name, spec in pod_specs():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["seccompProfile"]["type"] in ("RuntimeDefault", "Localhost"), name
        for container in spec["containers"] + spec.get("initContainers", []):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"]["drop"] == ["ALL"], (name, container["name"])
            assert not context.get("privileged"), (name, container["name"])


def test_each_release_runs_its_own_migration_job():
    """A Job runs once and its template cannot change: the migrations run again on a release only
    if the release's Job has a new name, so the name carries the image tag it runs."""
    jobs = [doc for doc in k8s_documents() if doc.get("kind") == "Job"]
    assert len(jobs) == 1
    job = jobs[0]
    tag = job["spec"]["template"]["spec"]["containers"][0]["image"].rpartition(":")[2]
    assert job["metadata"]["name"] == f"zhengban-migrate-{tag}"
    overlay = yaml.safe_load((DEPLOY / "k8s/overlays/production/kustomization.yaml").read_text())
    assert {image["newTag"] for image in overlay["images"]} == {tag}, "bump the Job's name with the tag"


def set_variables() -> set[str]:
    names = set()
    for service in compose()["services"].values():
        names |= set(service.get("environment", {}))
    for doc in k8s_documents():
        for container in containers(doc):
            names |= {e["name"] for e in container.get("env", [])}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            names.add(line.split("=", 1)[0])
    return names


def test_every_variable_the_files_set_is_a_known_setting():
    unknown = set_variables() - settings_variables() - OTHER_VARIABLES - POSTGRES_IMAGE_VARIABLES
    assert unknown == set()


def test_every_setting_is_documented():
    doc = (ROOT / "docs" / "settings.md").read_text()
    missing = sorted(name for name in settings_variables() | OTHER_VARIABLES - {"ZHENGBAN_INTERNAL_TOKEN"}
                     if f"`{name}`" not in doc)
    assert missing == []


def commands() -> list[list[str]]:
    found = [s["command"] for s in compose()["services"].values()
             if isinstance(s.get("command"), list) and s["command"][0] == "zhengban"]
    for doc in k8s_documents():
        for container in containers(doc):
            args = container.get("args", [])
            if args[:1] == ["zhengban"]:
                found.append(args)
            elif args[:2] == ["sh", "-c"]:
                found.append(args[2].removeprefix("exec ").replace('"$ZHENGBAN_DATABASE_URL"', "x").split())
    found.append(re.search(r'^CMD (\[.*\])', (DEPLOY / "Dockerfile").read_text(), re.M).group(1))
    return [yaml.safe_load(c) if isinstance(c, str) else c for c in found]


@pytest.mark.parametrize("command", commands(), ids=" ".join)
def test_the_commands_exist_in_the_cli(command):
    assert command[0] == "zhengban"
    args = build_parser().parse_args(command[1:])
    assert callable(args.func)


def test_the_entrypoint_waits_then_execs():
    script = (DEPLOY / "entrypoint.sh").read_text()
    assert "zhengban wait" in script and 'exec "$@"' in script
    assert (DEPLOY / "entrypoint.sh").stat().st_mode & 0o111


def test_kubernetes_manifests_match_the_api_schemas():
    """Offline validation against the Kubernetes 1.30 OpenAPI schemas (strict: no unknown fields)."""
    import kubernetes_validate

    checked = 0
    for doc in k8s_documents():
        if "kind" in doc and doc["kind"] != "Kustomization":
            kubernetes_validate.validate(doc, "1.30.0", strict=True)
            checked += 1
    assert checked >= 18
