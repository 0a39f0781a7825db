"""The production container set-up (Dockerfile, docker-compose.yml, the NATS nodes' configs) is
well formed."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops import web_server

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# The management commands of docs/reference.md, the external contract (copied here so the test
# reads nothing outside the repository).
MANAGEMENT_COMMANDS = frozenset(
    {
        "setup_nats",
        "relay_events",
        "run_projections",
        "run_compliance",
        "rebuild_projection",
        "recover_sagas",
        "retry_dead_letters",
        "create_customer",
        "seed_demo",
        "run_all",
        "forget_customer",
    }
)

# Not among the operators' commands, but documented in docs/reference.md: the generic runner
# of one subscriber.
SUBSCRIBER_RUNNER = "run_subscriber"

# The JetStream cluster: three nodes, so the stream (at R3) survives losing any one.
NATS_NODES = ("nats-1", "nats-2", "nats-3")
INFRASTRUCTURE_SERVICES = ("postgres", *NATS_NODES)
LONG_RUNNING_SERVICES = (
    "web", "relay", "projections", "compliance", "compliance-decisions", "forgotten-customers",
    "saga-recovery",
)  # fmt: skip
APP_SERVICES = ("setup", *LONG_RUNNING_SERVICES)
WORKER_COMMANDS = {
    "relay": "relay_events",
    "projections": "run_projections",
    "compliance": "run_compliance",
    "compliance-decisions": SUBSCRIBER_RUNNER,
    "forgotten-customers": SUBSCRIBER_RUNNER,
    "saga-recovery": "recover_sagas",
}
SHARED_ENV = (
    "DATABASE_URL",
    "NATS_URL",
    "LEDGER_EVENTSTORE_URL",
    "ORDERS_EVENTSTORE_URL",
    "COMPLIANCE_EVENTSTORE_URL",
    "CUSTOMERS_EVENTSTORE_URL",
    "DJANGO_SECRET_KEY",
)

# `${NAME}`, `${NAME:-default}`, `${NAME:?message}`: a value compose takes from the environment.
REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def argv(command: str | list[str]) -> list[str]:
    """A compose `command` or a Dockerfile CMD as an argument list, whichever form it is in."""
    if isinstance(command, list):
        return [str(arg) for arg in command]
    try:
        parsed = json.loads(command)
    except json.JSONDecodeError:
        return shlex.split(command)
    return [str(arg) for arg in parsed] if isinstance(parsed, list) else shlex.split(command)


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whether written as a mapping or a list."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def dependencies(service: dict[str, Any]) -> dict[str, str]:
    """Each dependency's condition (the short list form means `service_started`)."""
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends_on.items()}


def healthcheck_argv(service: dict[str, Any]) -> list[str]:
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        return ["CMD-SHELL", test]
    return [str(arg) for arg in test or []]


def seconds(duration: str) -> float:
    """A compose duration such as `30s` or `1m30s`, in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts, f"not a duration: {duration!r}"
    assert "".join(number + unit for number, unit in parts) == duration
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(number) * units[unit] for number, unit in parts)


def settings_in(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in the document, `KEY=value` list items included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key), value
            yield from settings_in(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", item):
                key, _, value = item.partition("=")
                yield key, value
            yield from settings_in(item)


def strings_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from strings_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings_in(item)
    elif isinstance(node, str):
        yield node


def volume_source(service: dict[str, Any], target: str) -> str:
    """The source of the volume a service mounts at `target`."""
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            source, mounted_at = volume.get("source", ""), volume.get("target")
        else:
            source, mounted_at = volume.split(":")[0], volume.split(":")[1]
        if mounted_at == target:
            return str(source)
    raise AssertionError(f"nothing is mounted at {target}")


def without_comments(text: str, marker: str = "#") -> str:
    return "\n".join(line.split(marker, 1)[0] for line in text.splitlines())


def node_config(service: dict[str, Any]) -> str:
    """The NATS config a node service runs with (the file it mounts at its --config path),
    comments left out."""
    command = argv(service["command"])
    source = volume_source(service, command[command.index("--config") + 1])
    return without_comments((ROOT / source).read_text())


def config_block(config: str, name: str) -> str:
    """The body of the first ``name { ... }`` block of a NATS config, nested blocks included."""
    start = re.search(rf"\b{name}\s*\{{", config)
    assert start, f"no {name} block"
    depth, at = 1, start.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(config[at], 0)
        at += 1
    return config[start.end() : at - 1]


def config_values(block: str) -> dict[str, str]:
    """``key: value`` pairs of a block's own level (nested blocks left out)."""
    flat = block
    while "{" in flat:
        flat = re.sub(r"\{[^{}]*\}", "", flat)
    return dict(re.findall(r"(\w+)\s*:\s*([^\s\[]+)", flat))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments) pairs, continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


# --- docker-compose.yml: services and how they start -------------------------------------------


def test_compose_file_uses_the_modern_spec(compose):
    """The file has no top-level `version:` key (obsolete in the compose spec)."""
    assert "version" not in compose


def test_every_service_is_defined(services):
    """PostgreSQL, NATS, the setup job, web and every worker are services."""
    assert set(INFRASTRUCTURE_SERVICES + APP_SERVICES) <= set(services)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_and_run_one_image(services, name):
    """Every app service builds the repository's Dockerfile into the same tagged image."""
    service = services[name]
    build = service.get("build")
    context = build.get("context", ".") if isinstance(build, dict) else build
    assert context in {".", "./"}
    assert service["image"] == services["web"]["image"] == "eventbank:latest"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_share_the_environment_anchor(compose, services, name):
    """Every app service gets the whole x-app-env block: databases, stores, NATS, secret key."""
    shared = {str(key): str(value) for key, value in compose["x-app-env"].items()}
    env = environment(services[name])
    assert set(SHARED_ENV) <= set(env)
    assert shared.items() <= env.items()


def test_setup_migrates_then_sets_up_nats(services):
    """The one-shot setup job runs `migrate`, then `setup_nats`, stopping at the first failure."""
    command = argv(services["setup"]["command"])
    assert command[:2] == ["sh", "-c"]
    script = command[2]
    assert re.findall(r"python manage\.py (\w+)", script) == ["migrate", "setup_nats"]
    assert "&&" in script
    assert services["setup"].get("restart", "no") == "no"


@pytest.mark.parametrize(("name", "management_command"), sorted(WORKER_COMMANDS.items()))
def test_workers_run_a_documented_management_command(services, name, management_command):
    """Each worker runs `python manage.py <command>` with a command of docs/reference.md."""
    command = argv(services[name]["command"])
    assert command[:2] == ["python", "manage.py"]
    assert command[2] in MANAGEMENT_COMMANDS | {SUBSCRIBER_RUNNER}
    assert command[2] == management_command


def test_saga_recovery_repeats_and_leaves_fresh_sagas_alone(services):
    """Saga recovery runs every few seconds and only touches sagas idle for a while."""
    command = argv(services["saga-recovery"]["command"])
    assert "--every" in command
    assert "--older-than" in command


def test_web_serves_the_image_default_command_with_a_health_check(services):
    """Web runs the image's CMD (the web server), publishes 8000 and is healthy only if /healthz
    is."""
    web = services["web"]
    assert "command" not in web
    assert any(str(port).split(":")[-1].split("/")[0] == "8000" for port in web["ports"])
    check = healthcheck_argv(web)
    assert check[0] == "CMD"
    assert check[1].startswith("python")
    assert "http://127.0.0.1:8000/healthz" in " ".join(check)


@pytest.mark.parametrize("name", LONG_RUNNING_SERVICES)
def test_long_running_services_wait_for_setup(services, name):
    """Web and every worker start only once setup has exited 0."""
    assert dependencies(services[name]) == {"setup": "service_completed_successfully"}


@pytest.mark.parametrize("name", LONG_RUNNING_SERVICES)
def test_long_running_services_restart_and_get_time_to_drain(services, name):
    """They come back after a crash and get ~30 s after SIGTERM to finish a batch and drain."""
    service = services[name]
    assert service["restart"] == "unless-stopped"
    assert 20 <= seconds(str(service["stop_grace_period"])) <= 60
    assert service.get("init") is True


def test_setup_waits_for_healthy_postgres_and_nats(services):
    """Setup starts only when PostgreSQL and every NATS node pass their health checks."""
    assert dependencies(services["setup"]) == dict.fromkeys(
        ("postgres", *NATS_NODES), "service_healthy"
    )


# --- docker-compose.yml: PostgreSQL and NATS ---------------------------------------------------


def test_postgres_has_a_pg_isready_health_check(services):
    """PostgreSQL reports healthy through pg_isready."""
    check = healthcheck_argv(services["postgres"])
    assert check[0] in {"CMD", "CMD-SHELL"}
    assert "pg_isready" in " ".join(check[1:])


@pytest.mark.parametrize("node", NATS_NODES)
def test_nats_has_a_jetstream_health_check(services, node):
    """Each node reports healthy through its monitoring endpoint, with JetStream enabled."""
    check = " ".join(healthcheck_argv(services[node]))
    assert ":8222/healthz" in check
    assert "js-enabled-only=true" in check


@pytest.mark.parametrize("node", NATS_NODES)
def test_nats_image_is_a_recent_official_alpine_build(services, node):
    """nats:2.11 or newer (sync_interval: always), alpine (a shell and wget for the check)."""
    match = re.fullmatch(r"nats:(\d+)\.(\d+)(?:\.\d+)?-alpine[\d.]*", services[node]["image"])
    assert match, services[node]["image"]
    assert (int(match[1]), int(match[2])) >= (2, 11)


@pytest.mark.parametrize("node", NATS_NODES)
def test_nats_mounts_a_config_that_fsyncs_jetstream_writes(services, node):
    """Each node runs with its own config from deploy/nats/, where JetStream fsyncs before it
    acks (inside the jetstream block: elsewhere the server ignores it)."""
    jetstream = config_values(config_block(node_config(services[node]), "jetstream"))
    assert jetstream["sync_interval"] == "always"
    assert jetstream["store_dir"] == "/data"


@pytest.mark.parametrize("node", NATS_NODES)
def test_nats_requires_credentials_from_the_environment(services, node):
    """The config takes its user and password from variables compose passes in from outside."""
    config = node_config(services[node])
    assert re.search(r"\buser\s*:\s*\$NATS_USER\b", config)
    assert re.search(r"\bpassword\s*:\s*\$NATS_PASSWORD\b", config)
    env = environment(services[node])
    assert REFERENCE.fullmatch(env["NATS_USER"])
    assert REFERENCE.fullmatch(env["NATS_PASSWORD"])


@pytest.mark.parametrize("node", NATS_NODES)
def test_nats_speaks_only_mutual_tls_opened_by_the_handshake(services, node):
    """The node's tls block: the server's certificate, clients verified against the CA, and
    the handshake before anything else; its files come from the certificates volume."""
    nats = services[node]
    tls = config_values(config_block(node_config(nats), "tls"))
    assert tls["verify"] == tls["handshake_first"] == "true"
    mounted_at = {Path(tls[key]).parent for key in ("cert_file", "key_file", "ca_file")}
    assert len(mounted_at) == 1
    assert volume_source(nats, str(mounted_at.pop())) == "nats-tls"
    assert dependencies(nats) == {"nats-certificates": "service_completed_successfully"}


def test_the_nodes_form_one_cluster_over_mutual_tls_routes(services):
    """Each node has a name of its own (its service's), the same cluster name, a route to every
    node, and routes that verify both ends with the CA's certificates."""
    names, clusters = [], set()
    for node in NATS_NODES:
        config = node_config(services[node])
        names.append(config_values(config)["server_name"])
        cluster = config_block(config, "cluster")
        clusters.add(config_values(cluster)["name"])
        routes = re.search(r"\broutes\s*:\s*\[([^\]]*)\]", cluster)
        assert routes, f"{node} lists no routes"
        assert sorted(routes[1].split()) == [f"nats-route://{n}:6222" for n in NATS_NODES]
        assert config_values(cluster)["port"] == "6222"
        tls = config_values(config_block(cluster, "tls"))
        assert tls["verify"] == "true"
        assert {tls[key] for key in ("cert_file", "key_file", "ca_file")} == {
            "/etc/nats/tls/server.pem", "/etc/nats/tls/server-key.pem", "/etc/nats/tls/ca.pem",
        }  # fmt: skip
    assert names == list(NATS_NODES)
    assert len(clusters) == 1


def test_the_certificates_are_issued_for_the_hosts_the_services_dial(services):
    """nats-certificates writes into the volume every app service mounts, for every node's name
    in NATS_URL; the services trust that CA and show that client certificate, opening with TLS,
    and keep the stream on all three nodes."""
    issuer = services["nats-certificates"]
    command = argv(issuer["command"])
    assert command[:3] == ["python", "manage.py", "issue_nats_certificates"]
    directory = command[3]
    assert volume_source(issuer, directory) == "nats-tls"
    hosts = [command[i + 1] for i, arg in enumerate(command) if arg == "--host"]
    assert hosts == list(NATS_NODES)
    for name in APP_SERVICES:
        service = services[name]
        env = environment(service)
        urls = env["NATS_URL"].split(",")
        assert [url.rpartition("@")[2] for url in urls] == [f"{h}:4222" for h in hosts], name
        assert all(url.startswith("tls://") for url in urls)
        assert env["EVENTBANK_STREAM_REPLICAS"] == str(len(NATS_NODES))
        assert env["EVENTBANK_NATS_TLS_HANDSHAKE_FIRST"] == "1"
        for key, file in (("CA", "ca.pem"), ("CERT", "client.pem"), ("KEY", "client-key.pem")):
            assert env[f"EVENTBANK_NATS_TLS_{key}"] == f"{directory}/{file}"
        assert volume_source(service, directory) == "nats-tls"
        assert any(str(v).endswith(f"{directory}:ro") for v in service["volumes"]), name


def test_the_image_lets_its_user_write_the_certificates_volume():
    """A fresh named volume takes its owner from the image's directory: it must be the app's."""
    (run,) = [args for keyword, args in dockerfile_instructions() if "install -d" in args]
    assert re.search(r"install -d -o eventbank -g eventbank [^&]*/etc/eventbank/nats-tls", run)


def test_postgres_and_nats_keep_their_data_in_named_volumes(compose, services):
    """Database files and the JetStream store live in declared named volumes."""
    declared = set(compose.get("volumes") or {})
    assert volume_source(services["postgres"], "/var/lib/postgresql/data") in declared
    stores = [volume_source(services[node], "/data") for node in NATS_NODES]
    assert set(stores) <= declared
    assert len(set(stores)) == len(NATS_NODES), "each node keeps its own store"


# --- docker-compose.yml: secrets ---------------------------------------------------------------


def test_no_secret_is_written_in_the_compose_file(compose):
    """Every PASSWORD or SECRET setting is a `${...}` reference, never a literal value."""
    secret_settings = [
        (key, value)
        for key, value in settings_in(compose)
        if re.search("PASSWORD|SECRET", key, re.IGNORECASE)
    ]
    assert secret_settings
    for key, value in secret_settings:
        assert isinstance(value, str), key
        assert REFERENCE.fullmatch(value), f"{key} is not a ${{...}} reference: {value!r}"


def test_no_password_is_written_in_a_url(compose):
    """Credentials inside URLs (DATABASE_URL, NATS_URL, ...) come from `${...}` references."""
    urls = [text for text in strings_in(compose) if re.search(r"://[^/]*@", text)]
    assert urls
    for url in urls:
        for userinfo in re.findall(r"://([^/]*)@", url):
            _, _, password = REFERENCE.sub("", userinfo).partition(":")
            assert password == "", f"a literal password in {url!r}"


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_builds_on_python_311_slim():
    """The image starts from python:3.11-slim."""
    froms = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "FROM"]
    assert froms[-1].split()[0] == "python:3.11-slim"


def test_dockerfile_installs_with_the_pinned_constraints():
    """The project is installed with `pip install -c constraints.txt .`."""
    runs = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "RUN"]
    assert any("pip install -c constraints.txt ." in run for run in runs)


def test_dockerfile_does_not_run_as_root():
    """A USER line switches to an unprivileged user before the CMD."""
    instructions = dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    last_user = max(i for i, keyword in enumerate(keywords) if keyword == "USER")
    assert last_user < keywords.index("CMD")


def test_dockerfile_cmd_runs_the_web_server_on_the_wsgi_application():
    """The default command is ops.web_server serving Django's app on every address, port
    8000, as its own argument parser reads the command."""
    cmds = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "CMD"]
    assert len(cmds) == 1
    command = argv(cmds[0])
    assert command[:3] == ["python", "-m", "ops.web_server"]
    options = web_server.arguments(command[3:])
    assert (options.host, options.port, options.app) == ("0.0.0.0", 8000, web_server.DJANGO)  # noqa: S104
    assert options.workers >= 2


def test_dockerfile_sets_settings_module_and_data_dir():
    """DJANGO_SETTINGS_MODULE and EVENTBANK_DATA_DIR are set in the image."""
    env = " ".join(
        arguments for keyword, arguments in dockerfile_instructions() if keyword == "ENV"
    )
    assert "DJANGO_SETTINGS_MODULE=config.settings" in env
    assert "EVENTBANK_DATA_DIR=/var/lib/eventbank" in env


def test_dockerfile_collects_static_files_without_baking_in_a_secret_key():
    """collectstatic runs at build time; no DJANGO_SECRET_KEY stays in the image's ENV."""
    instructions = dockerfile_instructions()
    runs = [arguments for keyword, arguments in instructions if keyword == "RUN"]
    assert any("manage.py collectstatic --no-input" in run for run in runs)
    env = " ".join(arguments for keyword, arguments in instructions if keyword == "ENV")
    assert "DJANGO_SECRET_KEY" not in env


def test_dockerignore_keeps_local_state_out_of_the_build_context():
    """The virtualenv, local data, git history and caches never reach the image."""
    patterns = set(without_comments(DOCKERIGNORE.read_text()).split())
    assert {".venv", "var", ".git"} <= patterns
    assert any("__pycache__" in pattern for pattern in patterns)


def test_compliance_decisions_run_the_ledger_subscriber_of_alert_resolutions(services):
    """The name is the handler the ledger registers (ledger/apps.py)."""
    command = argv(services["compliance-decisions"]["command"])
    assert command[2:] == [SUBSCRIBER_RUNNER, "ledger:compliance-decisions"]


def test_forgotten_customers_run_the_ledger_subscriber_of_forgettings(services):
    """The name is the handler the ledger registers (ledger/apps.py)."""
    command = argv(services["forgotten-customers"]["command"])
    assert command[2:] == [SUBSCRIBER_RUNNER, "ledger:forgotten-customers"]


def test_run_all_supervises_what_compose_runs_as_workers():
    """`make run` and production start the same background services, under the same names."""
    from ops.run_all import background_services

    children = {child.name: child.argv[2:] for child in background_services()}
    assert set(children) == set(WORKER_COMMANDS)
    for name, management_command in WORKER_COMMANDS.items():
        assert children[name][0] == management_command
