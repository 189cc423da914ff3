"""The Kubernetes manifests, which cannot run here: validated offline against the
Kubernetes API schemas (kubernetes-validate, in its own venv: it needs a newer jsonschema
than Rasa allows), and kept in step with deploy/docker-compose.yml, which does run
(test_deploy.py): same image and roles, replicas, variables, probes, routes and user.
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
         "redis": "assistant-redis"}


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


@pytest.mark.parametrize("service", ["rasa", "actions", "web"])
def test_same_image_role_replicas_and_user_as_compose(service):
    spec = deployment(ROLES[service])["spec"]
    container = spec["template"]["spec"]["containers"][0]
    assert container["image"] == default_of(COMPOSE[service]["image"]).split(":")[0]
    assert container["args"] == COMPOSE[service]["command"]
    assert spec["replicas"] == COMPOSE[service].get("deploy", {}).get("replicas", 1)
    dockerfile_user = re.search(r"^USER (\d+)$", (DEPLOY / "Dockerfile").read_text(), re.M).group(1)
    assert spec["template"]["spec"]["securityContext"]["runAsUser"] == int(dockerfile_user)


@pytest.mark.parametrize("service", ["rasa", "actions", "web"])
def test_same_health_check_as_compose(service):
    check = " ".join(COMPOSE[service]["healthcheck"]["test"])
    port, path = re.search(r"http://127\.0\.0\.1:(\d+)(/[^']*)", check).groups()
    container = deployment(ROLES[service])["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": path, "port": int(port)}, probe


def test_redis_is_the_same_image_and_command():
    container = deployment("assistant-redis")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == default_of(COMPOSE["redis"]["image"])
    assert container["command"] == [c.replace("$$", "$") for c in COMPOSE["redis"]["command"]]


def test_rasa_gets_the_same_variables_as_in_compose():
    config = next(o for o in objects() if o["kind"] == "ConfigMap")["data"]
    container = deployment("assistant-rasa")["spec"]["template"]["spec"]["containers"][0]
    names = set(config) | {e["name"] for e in container["env"]}
    assert names == set(COMPOSE["rasa"]["environment"])
    secret_names = {e["name"] for e in container["env"] if "valueFrom" in e}
    assert {"DB_PASSWORD", "REDIS_PASSWORD", "RASA_AUTH_TOKEN"} <= secret_names
    assert not {n for n in config if re.search("PASSWORD|TOKEN|SECRET", n)}


def test_ingress_routes_what_nginx_routes():
    ingress = next(o for o in objects() if o["kind"] == "Ingress")
    routes = {p["path"]: p["backend"]["service"]["name"]
              for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    nginx = (DEPLOY / "nginx" / "compose.conf").read_text()
    upstream = dict(re.findall(r"set \$(\w+) (\w+):\d+;", nginx))  # variable -> service
    locations = {path: upstream[var] for path, var in
                 re.findall(r"location (\S+) \{.*?proxy_pass http://\$(\w+);", nginx, re.S)}
    assert routes == {path: ROLES[service] for path, service in locations.items()}
