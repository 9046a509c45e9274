"""What the rendered charts must hold (docs/deploy.md): the migration hooks, the first admin and the
peers from Secrets, non-root pods, the workers' cache volume and Docker engine, the egress policy,
and settings that are the backend's documented environment variables. `make charts-check`
validates the same renderings against the Kubernetes schemas."""

import importlib.util
import re
from pathlib import Path

import pytest

pytest.importorskip("helm_python")

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("charts_check", ROOT / "charts" / "check.py")
charts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(charts)

OUR_IMAGES = ("substra-orchestrator", "substra-backend")


def render(chart, values=None, example=""):
    if example:
        values = charts.Case(chart, f"examples/two-orgs/{example}").values() | (values or {})
    return charts.render(chart, values or {}, release="rel")


def one(documents, kind, suffix):
    found = [d for d in documents if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, f"{kind} *{suffix}: {[d['metadata']['name'] for d in found]}"
    return found[0]


def pod_spec(document):
    return document["spec"]["template"]["spec"]


def containers(document):
    spec = pod_spec(document)
    return spec.get("initContainers", []) + spec["containers"]


def env_of(container):
    return {item["name"]: item for item in container.get("env", [])}


def test_every_case_renders_and_validates():
    for case in charts.CASES:
        count, errors = charts.check(case, charts.KUBE_VERSION)
        assert count and not errors, (case.name, errors)


# The orchestrator


def test_orchestrator_migrations_run_before_install_and_upgrade():
    documents = render("orchestrator")
    job = one(documents, "Job", "-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    deployment = one(documents, "Deployment", "orchestrator")
    assert [c["name"] for c in pod_spec(deployment)["initContainers"]] == ["wait-for-migrations"]


def test_orchestrator_with_its_own_postgresql_migrates_once_the_database_exists():
    documents = render("orchestrator", {"postgresql": {"enabled": True}})
    job = one(documents, "Job", "-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    one(documents, "StatefulSet", "-postgresql")
    url = env_of(pod_spec(job)["containers"][0])["ORCHESTRATOR_DATABASE_URL"]["value"]
    assert url.startswith("postgres://orchestrator:$(DATABASE_PASSWORD)@rel-orchestrator-postgresql:5432/")


def test_orchestrator_replicas_tls_and_passthrough_ingress():
    documents = render("orchestrator", example="orchestrator.yaml")
    assert one(documents, "Deployment", "orchestrator")["spec"]["replicas"] == 2
    ingress = one(documents, "Ingress", "orchestrator")
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-passthrough"] == "true"
    secret = one(documents, "Secret", "-tls")
    assert set(secret["data"]) == {"tls.crt", "tls.key", "ca.crt"}
    volumes = {v["name"]: v for v in pod_spec(one(documents, "Deployment", "orchestrator"))["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == secret["metadata"]["name"]


# The backend


def test_backend_jobs_migrate_then_create_the_admins_and_peers_from_secrets():
    documents = render("backend", example="org1.yaml")
    migrate = one(documents, "Job", "-migrate")
    assert migrate["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"  # in-chart PostgreSQL
    bootstrap = one(documents, "Job", "-bootstrap")
    annotations = bootstrap["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    assert int(annotations["helm.sh/hook-weight"]) > int(migrate["metadata"]["annotations"]["helm.sh/hook-weight"])
    container = pod_spec(bootstrap)["containers"][0]
    script = container["command"][-1]
    assert "create_admin --username 'admin' --password \"$ADMIN_0_PASSWORD\" --channel 'mychannel'" in script
    assert "add_peer --org-id 'MyOrg2MSP'" in script
    assert "python manage.py register_organization" in script
    env = env_of(container)
    assert env["ADMIN_0_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "org1-admin", "key": "password"}
    assert env["PEER_0_OUTGOING"]["valueFrom"]["secretKeyRef"]["name"] == "peer-myorg2msp"

    external = render("backend", example="org2.yaml")
    assert one(external, "Job", "-migrate")["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "DATABASE_PASSWORD" not in env_of(pod_spec(one(external, "Job", "-migrate"))["containers"][0])


def test_every_pod_of_our_images_runs_as_non_root_on_a_read_only_root():
    for chart, example in [("orchestrator", ""), ("orchestrator", "orchestrator.yaml"), ("backend", "org1.yaml")]:
        for document in render(chart, example=example):
            if document["kind"] not in ("Deployment", "StatefulSet", "Job"):
                continue
            spec = pod_spec(document)
            for container in containers(document):
                if not container["image"].split(":")[0].endswith(OUR_IMAGES):
                    continue
                assert spec["securityContext"]["runAsNonRoot"] is True, document["metadata"]["name"]
                assert spec["securityContext"]["runAsUser"] == 10001
                assert container["securityContext"]["readOnlyRootFilesystem"] is True
                assert container["securityContext"]["allowPrivilegeEscalation"] is False
                assert spec["automountServiceAccountToken"] is False


def test_workers_have_a_cache_volume_and_a_dind_engine_that_sees_it_at_the_same_path():
    documents = render("backend", example="org1.yaml")
    worker = one(documents, "StatefulSet", "-worker")
    assert worker["spec"]["replicas"] == 2
    claims = {claim["metadata"]["name"]: claim for claim in worker["spec"]["volumeClaimTemplates"]}
    assert claims["compute"]["spec"]["resources"]["requests"]["storage"] == "50Gi"
    by_name = {c["name"]: c for c in containers(worker)}
    celery, dind = by_name["worker"], by_name["dind"]
    assert celery["command"][:4] == ["celery", "-A", "backend", "worker"]
    assert "--concurrency" in celery["command"] and "2" in celery["command"]
    env = env_of(celery)
    assert env["COMPUTE_EXECUTOR"]["value"] == "docker"
    assert env["DOCKER_HOST"]["value"] == "unix:///var/run/dind/docker.sock"
    assert env["COMPUTE_QUEUE"]["value"] == "MyOrg1MSP.compute"
    assert dind["restartPolicy"] == "Always" and dind["securityContext"]["privileged"] is True
    assert "--group=10001" in dind["args"]
    compute_dir = env["COMPUTE_DIR"]["value"]
    mounts = {c: {m["name"]: m["mountPath"] for m in by_name[c]["volumeMounts"]} for c in ("worker", "dind")}
    assert mounts["worker"]["compute"] == mounts["dind"]["compute"] == compute_dir
    assert mounts["worker"]["dind-socket"] == mounts["dind"]["dind-socket"] == "/var/run/dind"


def test_workers_on_the_nodes_engine_use_its_socket_and_a_node_folder():
    worker = one(render("backend", example="org2.yaml"), "StatefulSet", "-worker")
    assert "volumeClaimTemplates" not in worker["spec"]
    volumes = {v["name"]: v for v in pod_spec(worker)["volumes"]}
    assert volumes["docker-socket"]["hostPath"] == {"path": "/var/run/docker.sock", "type": "Socket"}
    assert volumes["compute"]["hostPath"]["path"] == "/var/lib/substra/org2/compute"
    celery = next(c for c in containers(worker) if c["name"] == "worker")
    assert env_of(celery)["COMPUTE_DIR"]["value"] == "/var/lib/substra/org2/compute"
    assert pod_spec(worker)["securityContext"]["supplementalGroups"] == [998]


def test_the_workers_egress_is_limited_by_a_network_policy():
    documents = render("backend")
    policy = one(documents, "NetworkPolicy", "-worker-egress")
    assert policy["spec"]["policyTypes"] == ["Egress"]
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "worker"
    rules = policy["spec"]["egress"]
    # DNS, this release, then only the configured destinations (HTTPS by default): nothing else.
    assert rules[0]["ports"][0]["port"] == 53
    assert rules[1]["to"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": "rel"}
    assert rules[2:] == [{"ports": [{"port": 443, "protocol": "TCP"}]}]
    assert not [d for d in render("backend", {"networkPolicy": {"enabled": False}}) if d["kind"] == "NetworkPolicy"]


def documented_variables():
    names = set()
    for doc in ("backend.md", "compute.md"):
        for line in (ROOT / "docs" / doc).read_text().splitlines():
            if line.startswith("| `"):
                names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


# Variables of the chart's own plumbing, not settings of the backend.
PLUMBING = {
    "DATABASE_PASSWORD",  # composed into BACKEND_DATABASE_URL
    "REDIS_PASSWORD",  # composed into CELERY_BROKER_URL
    "DOCKER_HOST",  # the Docker SDK's own variable
    "BACKEND_HTTP_ADDRESS",  # docker/gunicorn.conf.py and docker/healthcheck.py
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
}


def test_every_setting_the_chart_gives_the_backend_is_a_documented_variable():
    documented = documented_variables()
    assert {"BACKEND_DATABASE_URL", "CELERY_BROKER_URL", "COMPUTE_DIR"} <= documented
    seen = set()
    for example in ("", "org1.yaml", "org2.yaml"):
        for document in render("backend", example=example):
            if document["kind"] not in ("Deployment", "StatefulSet", "Job"):
                continue
            for container in containers(document):
                if container["image"].split(":")[0].endswith("substra-backend"):
                    seen |= {name for name in env_of(container) if not re.match(r"(ADMIN|PEER)_\d+_", name)}
    assert seen - PLUMBING - documented == set()
    # The values reach the processes: organization, channels, public URL, orchestrator, storage.
    api = one(render("backend", example="org1.yaml"), "Deployment", "-api")
    env = env_of(pod_spec(api)["containers"][0])
    assert env["BACKEND_ORG_ID"]["value"] == "MyOrg1MSP"
    assert env["BACKEND_CHANNELS"]["value"] == '{"mychannel":{"model_export_enabled":true}}'
    assert env["BACKEND_PUBLIC_URL"]["value"] == "https://org1.example.com"
    assert env["ORCHESTRATOR_ADDRESS"]["value"] == "orchestrator.example.com:443"
    assert env["BACKEND_S3_ENDPOINT_URL"]["value"] == "http://rel-backend-minio:9000"
    assert env["BACKEND_TOKEN_TTL_HOURS"]["value"] == "12"
    assert env["BACKEND_TRUST_X_FORWARDED_PROTO"]["value"] == "true"


def test_dockerfiles_build_non_root_images_with_a_health_check_in_two_stages():
    for name in ("orchestrator", "backend"):
        text = (ROOT / "docker" / f"{name}.Dockerfile").read_text()
        assert re.search(r"^USER 10001:10001$", text, re.M), name
        assert re.search(r"^HEALTHCHECK ", text, re.M), name
        assert len(re.findall(r"^FROM ", text, re.M)) == 2, name
        assert "COPY --from=install /opt/venv /opt/venv" in text


@pytest.mark.parametrize(("chart", "kind", "suffix", "variable"), [
    ("orchestrator", "Deployment", "-orchestrator", "ORCHESTRATOR_METRICS_PORT"),
    ("backend", "Deployment", "-consumer", "BACKEND_CONSUMER_METRICS_PORT"),
    ("backend", "Deployment", "-api", "BACKEND_API_METRICS_PORT"),
    ("backend", "StatefulSet", "-worker", "BACKEND_WORKER_METRICS_PORT"),
])  # fmt: skip
def test_the_processes_with_metrics_serve_them_on_a_port_their_pods_announce(chart, kind, suffix, variable):
    deployment = one(render(chart), kind, suffix)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    container = pod_spec(deployment)["containers"][0]
    port = env_of(container)[variable]["value"]

    assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/path"]) == ("true", "/metrics")
    assert annotations["prometheus.io/port"] == port
    assert {"name": "metrics", "containerPort": int(port), "protocol": "TCP"} in container["ports"]


# The web frontend


def paths_of(ingress):
    return {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}


def test_without_the_frontend_the_ingress_sends_everything_to_the_api_at_its_root():
    documents = render("backend", example="org1.yaml")

    assert not [d for d in documents if d["metadata"]["name"].endswith("-frontend")]
    assert paths_of(one(documents, "Ingress", "-backend")) == {"/": "rel-backend-api"}
    assert "BACKEND_URL_PREFIX" not in env_of(pod_spec(one(documents, "Deployment", "-api"))["containers"][0])


def test_with_the_frontend_the_api_moves_under_api_and_the_frontend_takes_the_rest_of_the_host():
    documents = render("backend", {"frontend": {"enabled": True}}, example="org1.yaml")

    assert paths_of(one(documents, "Ingress", "-backend")) == {
        "/api": "rel-backend-api",
        "/console": "rel-backend-api",
        "/": "rel-backend-frontend",
    }
    # Every process builds addresses (the worker those of models and logs): all under the prefix.
    for kind, suffix in [("Deployment", "-api"), ("Deployment", "-consumer"), ("StatefulSet", "-worker")]:
        container = pod_spec(one(documents, kind, suffix))["containers"][0]
        assert env_of(container)["BACKEND_URL_PREFIX"]["value"] == "/api", suffix
    service = one(documents, "Service", "-frontend")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "frontend"


def test_the_frontend_runs_the_official_image_with_api_url_filled_in_at_start():
    documents = render("backend", {"frontend": {"enabled": True}}, example="org1.yaml")
    deployment = one(documents, "Deployment", "-frontend")
    spec = pod_spec(deployment)
    (fill,), (nginx,) = spec["initContainers"], spec["containers"]

    assert fill["image"] == nginx["image"] == "ghcr.io/substra/substra-frontend:1.0.0"
    # The image keeps its page as index-template.html, ${API_URL} inside (docker/substra-frontend/Dockerfile).
    script = fill["command"][-1]
    assert "envsubst '${API_URL} ${MICROSOFT_CLARITY_ID}' < /html/index-template.html > /html/index.html" in script
    assert env_of(fill)["API_URL"]["value"] == "/api"
    assert {m["mountPath"]: m["name"] for m in nginx["volumeMounts"]}["/usr/share/nginx/html"] == "html"
    assert nginx["ports"] == [{"name": "http", "containerPort": 3000}]
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 101
    for container in (fill, nginx):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["automountServiceAccountToken"] is False


def test_the_frontend_follows_a_chosen_prefix_or_an_api_on_another_origin():
    chosen = render("backend", {"frontend": {"enabled": True}, "urlPrefix": "/substra/api/"}, example="org1.yaml")
    assert paths_of(one(chosen, "Ingress", "-backend"))["/substra/api"] == "rel-backend-api"
    assert env_of(pod_spec(one(chosen, "Deployment", "-frontend"))["initContainers"][0])["API_URL"]["value"] == (
        "/substra/api"
    )
    elsewhere = render("backend", {"frontend": {"enabled": True, "apiUrl": "https://api.example.com/api"}})
    fill = pod_spec(one(elsewhere, "Deployment", "-frontend"))["initContainers"][0]
    assert env_of(fill)["API_URL"]["value"] == "https://api.example.com/api"


def test_the_frontend_refuses_an_api_at_the_root_of_its_host():
    with pytest.raises(Exception, match=r"frontend\.enabled needs the API under a path"):
        render("backend", {"frontend": {"enabled": True}, "urlPrefix": "/"})


def test_a_prefix_without_the_frontend_keeps_the_console_at_the_root():
    documents = render("backend", {"urlPrefix": "api"}, example="org1.yaml")

    assert paths_of(one(documents, "Ingress", "-backend")) == {"/": "rel-backend-api"}
    assert env_of(pod_spec(one(documents, "Deployment", "-api"))["containers"][0])["BACKEND_URL_PREFIX"]["value"] == (
        "/api"
    )
