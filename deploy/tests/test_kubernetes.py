"""The Kubernetes manifests, which cannot run here: validated offline against the
Kubernetes API schemas (kubernetes-validate, in its own venv: it needs a newer jsonschema
than Rasa allows), and kept in step with deploy/docker-compose.yml, which does run
(test_deploy.py): same image and roles, replicas, variables, probes, routes and user;
and deploy/env.example lists every variable the Compose file reads.
"""
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1]
K8S = DEPLOY / "kubernetes"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
# Compose service -> Kubernetes Deployment of the same role.
ROLES = {"rasa": "assistant-rasa", "actions": "assistant-actions", "web": "assistant-web",
         "handoff-worker": "assistant-handoff-worker", "redis": "assistant-redis"}
ASSISTANT_ROLES = ["rasa", "actions", "handoff-worker", "web"]
# Compose only: the page finds Rasa on its own host at the public port; in Kubernetes it
# is always told the Ingress's URL (RASA_URL).
COMPOSE_ONLY = {"web": {"RASA_PORT"}}
SECRET = re.compile(r"PASSWORD|TOKEN|SECRET|WEBHOOK_URL|APP_ID|TENANT_ID")


def resources():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [K8S / name for name in kustomization["resources"]]


def objects():
    return [doc for path in resources() for doc in yaml.safe_load_all(path.read_text()) if doc]


def deployment(name):
    return next(o for o in objects() if o["kind"] == "Deployment" and o["metadata"]["name"] == name)


def default_of(value):
    """"${NAME:-default}" -> "default" (what a user without the variable gets)."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    return match.group(1) if match else value


def test_manifests_are_valid_kubernetes_objects():
    tool = os.environ.get("K8S_VALIDATE")
    if not tool:
        pytest.fail("run through `make test-deploy` (K8S_VALIDATE: the kubernetes-validate command)",
                    pytrace=False)
    done = subprocess.run([tool, "--strict", *map(str, resources())], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") == len(objects()), done.stdout


def test_every_resource_file_is_in_the_kustomization():
    listed = {p.name for p in resources()}
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


def container(service):
    return deployment(ROLES[service])["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("service", ASSISTANT_ROLES)
def test_same_image_role_replicas_and_user_as_compose(service):
    spec = deployment(ROLES[service])["spec"]
    assert container(service)["image"] == default_of(COMPOSE[service]["image"]).split(":")[0]
    assert container(service)["args"] == COMPOSE[service]["command"]
    assert spec["replicas"] == COMPOSE[service].get("deploy", {}).get("replicas", 1)
    dockerfile_user = re.search(r"^USER (\d+)$", (DEPLOY / "Dockerfile").read_text(), re.M).group(1)
    assert spec["template"]["spec"]["securityContext"]["runAsUser"] == int(dockerfile_user)


@pytest.mark.parametrize("service", ASSISTANT_ROLES)
def test_same_health_check_as_compose(service):
    if "healthcheck" not in COMPOSE[service]:  # the worker serves nothing to probe
        assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(container(service))
        return
    check = " ".join(COMPOSE[service]["healthcheck"]["test"])
    port, path = re.search(r"http://127\.0\.0\.1:(\d+)(/[^']*)", check).groups()
    for probe in ("readinessProbe", "livenessProbe"):
        assert container(service)[probe]["httpGet"] == {"path": path, "port": int(port)}, probe


def test_redis_is_the_same_image_and_command():
    redis = container("redis")
    assert redis["image"] == default_of(COMPOSE["redis"]["image"])
    assert redis["command"] == [c.replace("$$", "$") for c in COMPOSE["redis"]["command"]]


def config_maps():
    return {o["metadata"]["name"]: o["data"] for o in objects() if o["kind"] == "ConfigMap"}


@pytest.mark.parametrize("service", ASSISTANT_ROLES)
def test_each_role_gets_the_same_variables_as_in_compose(service):
    """DB_* for every role, HANDOFF_* for the action servers and the workers, INSIGHTS_*
    for the page: in both, from the same shared blocks."""
    c, maps = container(service), config_maps()
    from_maps = {name for ref in c.get("envFrom", []) for name in maps[ref["configMapRef"]["name"]]}
    names = from_maps | {e["name"] for e in c.get("env", [])}
    assert names == set(COMPOSE[service]["environment"]) - COMPOSE_ONLY.get(service, set())
    secrets = {e["name"] for e in c.get("env", []) if "valueFrom" in e}
    assert secrets == {n for n in names if SECRET.search(n)}


def test_no_secret_in_a_config_map():
    assert not [n for data in config_maps().values() for n in data if SECRET.search(n)]


def test_env_example_lists_every_variable_compose_reads():
    compose = (DEPLOY / "docker-compose.yml").read_text()
    read = set(re.findall(r"\$\{(\w+)", compose))
    listed = set(re.findall(r"^(\w+)=", (DEPLOY / "env.example").read_text(), re.M))
    assert read - listed == set()
    assert listed - read == {"COMPOSE_PROJECT_NAME"}  # read by Compose itself


def test_ingress_routes_what_nginx_routes():
    ingress = next(o for o in objects() if o["kind"] == "Ingress")
    routes = {p["path"]: p["backend"]["service"]["name"]
              for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    nginx = (DEPLOY / "nginx" / "compose.conf").read_text()
    upstream = dict(re.findall(r"set \$(\w+) (\w+):\d+;", nginx))  # variable -> service
    locations = {path: upstream[var] for path, var in re.findall(
        r"location (?:= )?(\S+) \{.*?proxy_pass http://\$(\w+);", nginx, re.S)}
    assert routes == {path: ROLES[service] for path, service in locations.items()}
    exact = {p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]
             if p["pathType"] == "Exact"}
    assert exact == set(re.findall(r"location = (\S+) \{", nginx))
