"""``docs/reference.md`` cannot drift from the code: what the code has, the page names.

Each test reads one part of the contract from the code — the Makefile's targets, the management
commands' parsers, the environment ``config/settings.py`` reads, the URL patterns and their
views, the OpenAPI schema the views declare, the domain errors' codes, the event catalogues —
and finds it in the page's tables, in the row it belongs to. The other way round, the page
names no endpoint the code lacks.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import admin
from django.core.management import get_commands, load_command_class
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework import exceptions
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.views import APIView

import compliance.domain
import customers.domain
import kernel.money
import ledger.domain
import ledger.saga
import orders.domain
import orders.saga
from api.exception_handlers import DRF_CODES, STATUS_BY_DOMAIN_CODE
from api.graphql import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, GraphQLView
from api.idempotency import KEY_PATTERN
from api.pagination import MAX_PAGE_SIZE
from api.serializers import SKU_PATTERN
from compliance.rules import RULE_NAMES, RuleSettings
from compliance.screening import TransferScreening
from config.graphql import schema as graphql_schema
from kernel.errors import DomainError
from kernel.events import _BASE_FIELDS, EventCatalogue
from kernel.money import format_cents
from ledger.subscribers import ComplianceDecisions, ForgottenCustomers
from messaging.handlers import names as subscriber_names
from ops.demo import DEMO_PASSWORD
from orders.application import MAX_ORDER_LINES
from projections.projectors import PROJECTORS
from tests.unit.test_docs import DOCS
from tuning import MODULES

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reference.md"
TEXT = PAGE.read_text()
SETTINGS = (ROOT / "config" / "settings.py").read_text()

# Bases whose code no error is ever raised with: each context's errors derive from them.
ABSTRACT_CODES = {
    "domain_error", "ledger_error", "orders_error", "compliance_error", "customers_error",
}  # fmt: skip
# Imported so that every context's errors are subclasses of DomainError when the tests walk them.
DOMAIN_MODULES = (kernel.money, ledger.domain, ledger.saga, orders.domain, orders.saga,
                  compliance.domain, customers.domain)  # fmt: skip
# Options every Django command has; the page documents only each command's own.
DJANGO_OPTIONS = {"help", "version", "verbosity", "settings", "pythonpath", "traceback",
                  "no_color", "force_color", "skip_checks"}  # fmt: skip
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
CODE_SPAN = re.compile(r"`([^`]+)`")
PLACEHOLDER = re.compile(r"\{\w+\}")
ENDPOINT = re.compile(r"(GET|POST|PUT|PATCH|DELETE) /\S*")
SOURCE_DIRECTORIES_SKIPPED = {"tests", "bench", "docs", "deploy", "var"}


# --- Reading the page ------------------------------------------------------------------------


def section(heading: str, text: str = TEXT) -> str:
    """The text under ``heading`` (a whole line, e.g. ``### Errors``), up to the next heading
    of the same or a higher level."""
    lines = text.splitlines()
    assert heading in lines, f"the page has no heading {heading!r}"
    start = lines.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i].startswith("#") and len(lines[i]) - len(lines[i].lstrip("#")) <= level
        ),
        len(lines),
    )
    return "\n".join(lines[start + 1 : end])


def table_rows(text: str) -> Iterator[list[str]]:
    """The cells of every row of every table in ``text``, headers left out."""
    in_body = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_body = False
        elif line.startswith("|---"):
            in_body = True
        elif in_body:
            yield cells(line)


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().removeprefix("|").removesuffix("|").split(" | ")]


def names_in(cell: str) -> list[str]:
    """What a first cell names: its code spans, or its plain text when it has none."""
    return CODE_SPAN.findall(cell) or [cell]


def row_for(name: str, text: str) -> list[str]:
    """The one row of ``text`` whose first cell names ``name`` — exactly, or followed by its
    arguments (``relay_events [--once]``)."""
    found = [
        row
        for row in table_rows(text)
        if any(n == name or n.startswith(f"{name} ") for n in names_in(row[0]))
    ]
    assert len(found) == 1, f"{name!r}: {len(found)} rows name it, not one"
    return found[0]


def spans(cell: str) -> set[str]:
    return set(CODE_SPAN.findall(cell))


def words_in_spans(text: str) -> set[str]:
    """Every word inside the code spans of ``text`` (fenced blocks left out)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return {word for span in CODE_SPAN.findall(text) for word in re.findall(r"\w+", span)}


def test_every_table_row_has_as_many_cells_as_its_header() -> None:
    header: list[str] = []
    for line in TEXT.splitlines():
        if not line.startswith("|"):
            header = []
        elif not header:
            header = cells(line)
        elif not line.startswith("|---"):
            assert len(cells(line)) == len(header), line


def test_the_page_is_one_test_docs_checks_and_names_nothing_outside_the_repository() -> None:
    assert PAGE in DOCS  # its backticked files, functions and links must exist
    for outside in ("API.md", "DESIGN.md", "STYLE.md", "/work/"):
        assert outside not in TEXT


# --- Running -------------------------------------------------------------------------------


def make_targets() -> list[str]:
    """The Makefile's targets that say what they are for (``target: ... ## what``)."""
    makefile = (ROOT / "Makefile").read_text()
    return re.findall(r"^([a-z][a-z0-9-]*):.*##", makefile, re.MULTILINE)


def test_every_make_target_is_on_the_page() -> None:
    assert "test-e2e" in make_targets()
    for target in make_targets():
        row_for(f"make {target}", section("### `make` targets"))


def test_make_help_lists_every_target() -> None:
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    listed = re.findall(r"^  make (\S+)", shown, re.MULTILINE)
    assert listed == make_targets()


def project_commands() -> dict[str, str]:
    """eventbank's management commands, by name, with the app that holds each."""
    return {
        name: app
        for name, app in get_commands().items()
        if not app.startswith("tests") and (ROOT / app.replace(".", "/")).is_dir()
    }


def test_every_management_command_and_each_of_its_arguments_is_on_the_page() -> None:
    table = section("### `python manage.py` commands")
    commands = project_commands()
    assert "relay_events" in commands
    for name, app in commands.items():
        first, description = row_for(name, table)[:2]
        assert description, name
        parser = load_command_class(app, name).create_parser("manage.py", name)
        for action in parser._actions:
            if action.dest in DJANGO_OPTIONS:
                continue
            if action.option_strings:
                option = max(action.option_strings, key=len)
                assert option in first, f"{name} {option}"
                if action.default not in (None, False, ""):  # a default of its own: the page's
                    default = (
                        f"{action.default:g}"
                        if isinstance(action.default, float)
                        else action.default
                    )
                    assert f"`{default}`" in description, f"{name} {option} default {default}"
            else:
                argument = str(action.metavar or action.dest.upper())
                assert argument in first, f"{name} {action.dest}"


def test_every_projection_and_subscriber_is_on_the_page() -> None:
    run_projections = row_for("run_projections", section("### `python manage.py` commands"))
    for projection in PROJECTORS:
        assert f"`{projection}`" in run_projections[1], projection
    handlers = {p.name: tuple(p.event_types) for p in PROJECTORS.values()}
    handlers[TransferScreening.name] = tuple(TransferScreening.event_types)
    handlers[ComplianceDecisions.name] = tuple(ComplianceDecisions.event_types)
    handlers[ForgottenCustomers.name] = tuple(ForgottenCustomers.event_types)
    registered = {n for n in subscriber_names() if not n.startswith("test:")}
    assert registered == set(handlers), "a subscriber this test does not know"
    table = section("### Subscribers")
    for name, event_types in handlers.items():
        consumes = row_for(name, table)[1]
        assert spans(consumes) == set(event_types), name


# --- Environment ---------------------------------------------------------------------------


def settings_variables() -> dict[str, tuple[str, Any]]:
    """Each variable ``config/settings.py`` reads: how (``get``, ``bool``, ``list``) and its
    default as written (None for none)."""
    found: dict[str, tuple[str, Any]] = {}
    for name, default in re.findall(r'os\.environ\.get\("(\w+)"(?:,\s*"([^"]*)")?\)', SETTINGS):
        found[name] = ("get", default or None)
    for name, default in re.findall(r'env_bool\("(\w+)",\s*(True|False)\)', SETTINGS):
        found[name] = ("bool", default == "True")
    for name, default in re.findall(r'env_list\("(\w+)",\s*(\[[^\]]*\])\)', SETTINGS):
        found[name] = ("list", ast.literal_eval(default))
    # One variable per event store, named after its context.
    for suffix in re.findall(r'os\.environ\.get\(f"\{\w+\.upper\(\)\}_(\w+)"\)', SETTINGS):
        for context in settings.EVENT_STORE_CONTEXTS:
            found[f"{context.upper()}_{suffix}"] = ("get", None)
    return found


def test_settings_reads_the_environment_only_in_ways_this_test_parses() -> None:
    reads = re.findall(r'os\.environ\.get\((f?"[^"]*"|\w+)', SETTINGS)
    understood = [r for r in reads if re.fullmatch(r'"\w+"|f"\{\w+\.upper\(\)\}_\w+"|name', r)]
    assert reads == understood
    assert "os.environ[" not in SETTINGS
    assert len(settings_variables()) > 30


def test_every_variable_the_settings_read_is_on_the_page_with_its_default() -> None:
    environment = section("## 2. Environment")
    for name, (kind, default) in settings_variables().items():
        shown_default = row_for(name, environment)[1]
        if kind == "get" and default:
            assert f"`{default}`" in shown_default, name
        elif kind == "bool":
            assert re.search(rf"\b{'on' if default else 'off'}\b", shown_default), name
        elif kind == "list":
            for item in default:
                assert f"`{item}`" in shown_default, name


def source_files() -> Iterator[Path]:
    """The modules the system runs: every package's, and ``manage.py`` (no tests, no bench)."""
    yield ROOT / "manage.py"
    for directory in sorted(ROOT.iterdir()):
        skipped = directory.name.startswith(".") or directory.name in SOURCE_DIRECTORIES_SKIPPED
        if directory.is_dir() and not skipped:
            yield from sorted(directory.rglob("*.py"))


def environment_reads_elsewhere() -> set[str]:
    """Variables that modules other than the settings read or set while running."""
    found = set()
    for file in source_files():
        if file == ROOT / "config" / "settings.py":
            continue
        source = file.read_text()
        access = r'os\.environ(?:\.get|\.setdefault|\.pop)?[\[(]\s*(?:"(\w+)"|([A-Z_]+)\b)'
        for literal, constant in re.findall(access, source):
            if constant:  # a name for it, defined in the same module
                definition = re.search(rf'^{constant} = "(\w+)"', source, re.MULTILINE)
                assert definition is not None, f"{file}: {constant}"
                literal = definition[1]
            found.add(literal)
    return found


def test_every_variable_read_elsewhere_is_on_the_page() -> None:
    elsewhere = environment_reads_elsewhere()
    assert {"PROMETHEUS_MULTIPROC_DIR", "EVENTBANK_WEB_APP"} <= elsewhere
    for name in elsewhere:
        row_for(name, section("## 2. Environment"))


def test_every_speed_up_eventbank_tuning_can_name_is_on_the_page() -> None:
    tuning = row_for("EVENTBANK_TUNING", section("## 2. Environment"))
    assert spans(tuning[2]) >= set(MODULES)


# --- REST API --------------------------------------------------------------------------------


def url_patterns(patterns: list[Any] | None = None, prefix: str = "/") -> Iterator[tuple[str, Any]]:
    """Every URL the site answers, as ``/api/accounts/{account_id}/``, with its view; the
    admin's own pages are one entry, ``/admin/``, plus the pages eventbank adds to it."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        path = prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        if isinstance(pattern, URLResolver) and path == "/admin/":
            yield path, None
            plain = {str(p.pattern) for p in admin.AdminSite.get_urls(admin.site)}
            added = [p for p in admin.site.get_urls() if str(p.pattern) not in plain]
            yield from url_patterns(added, path)
        elif isinstance(pattern, URLResolver):
            yield from url_patterns(pattern.url_patterns, path)
        else:
            assert isinstance(pattern, URLPattern)
            yield path, pattern.callback


def methods(view: Any) -> list[str]:
    """The methods a view answers: a DRF view's handlers, a Django view's GET and POST (its
    PUT, where it has one, is a form view's stand-in for POST), a plain function's GET."""
    if view is None:  # the admin
        return ["GET"]
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return ["GET"]
    if issubclass(view_class, GraphQLView):  # strawberry's dispatch takes these two itself
        return ["GET", "POST"]
    allowed = getattr(view, "view_initkwargs", {}).get("http_method_names")
    allowed = allowed or view_class.http_method_names
    candidates = HTTP_METHODS if issubclass(view_class, APIView) else ("get", "post")
    return [m.upper() for m in candidates if hasattr(view_class, m) and m in allowed]


ENDPOINTS = section("### Endpoints")


def test_every_url_and_each_of_its_methods_is_on_the_page() -> None:
    urls = list(url_patterns())
    assert len(urls) > 25
    for path, view in urls:
        for method in methods(view):
            row_for(f"{method} {path}", ENDPOINTS)


def test_every_endpoint_the_page_names_is_one_the_code_answers() -> None:
    named = [n for row in table_rows(ENDPOINTS) for n in names_in(row[0]) if ENDPOINT.match(n)]
    assert len(named) > 25
    for endpoint in named:
        method, path = endpoint.split(" ", 1)
        match = resolve(PLACEHOLDER.sub(str(UUID(int=1)), path))
        assert method in methods(match.func), endpoint


def test_staff_only_views_are_marked_staff_and_open_ones_anyone() -> None:
    for path, view in url_patterns():
        permissions = getattr(getattr(view, "view_class", None), "permission_classes", [])
        for method in methods(view):
            who = row_for(f"{method} {path}", ENDPOINTS)[1]
            if IsAdminUser in permissions:
                assert who == "staff", f"{method} {path}"
            if AllowAny in permissions:
                assert who == "anyone", f"{method} {path}"


@cache
def schema() -> dict[str, Any]:
    generated: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return generated


def operations() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations_of_path in schema()["paths"].items():
        for method, operation in operations_of_path.items():
            yield f"{method.upper()} {path}", operation


def component(reference: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = schema()["components"]["schemas"][reference["$ref"].rsplit("/")[-1]]
    return found


def test_each_endpoint_row_gives_the_body_parameters_and_errors_its_schema_declares() -> None:
    assert len(list(operations())) > 20
    for endpoint, operation in operations():
        _, who, body, answer, errors = row_for(endpoint, ENDPOINTS)
        if operation.get("security") == []:
            assert who == "anyone", endpoint
        if "requestBody" in operation:
            request = component(operation["requestBody"]["content"]["application/json"]["schema"])
            for field in request["properties"]:
                optional = field not in request.get("required", [])
                assert f"`{field}`{'?' if optional else ''}" in body, f"{endpoint} {field}"
                if not optional:
                    assert f"`{field}`?" not in body, f"{endpoint} {field}"
        parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] != "path"}
        assert ("`Idempotency-Key`" in body) == ("Idempotency-Key" in parameters), endpoint
        assert ("paginated" in answer) == ("page" in parameters), endpoint
        for name, parameter in parameters.items():
            if name in ("page", "page_size", "Idempotency-Key"):
                continue
            assert f"`{name}`" in body, f"{endpoint} ?{name}"
            for value in parameter["schema"].get("enum", []):
                assert f"`{value}`" in body, f"{endpoint} ?{name}={value}"
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            assert re.search(rf"\b{status}\b", errors), f"{endpoint} {status}"
            if status == "409":
                examples = response["content"]["application/json"]["examples"].values()
                for example in examples:
                    assert f"`{example['value']['code']}`" in errors, f"{endpoint} {example}"


def response_fields(schema_part: Any) -> Iterator[str]:
    """Every property name of every object reachable from ``schema_part``."""
    if isinstance(schema_part, dict):
        if "$ref" in schema_part:
            yield from response_fields(component(schema_part))
            return
        yield from schema_part.get("properties", {})
        for value in schema_part.values():
            yield from response_fields(value)
    elif isinstance(schema_part, list):
        for value in schema_part:
            yield from response_fields(value)


def test_every_field_of_every_answer_is_on_the_page() -> None:
    shown = words_in_spans(TEXT)
    for endpoint, operation in operations():
        for status, response in operation["responses"].items():
            if int(status) < 400:
                for field in response_fields(response):
                    assert field in shown, f"{endpoint} {status}: {field}"


def test_the_limits_and_the_amount_grammar_are_the_code_s() -> None:
    assert kernel.money._AMOUNT_TEXT.pattern in TEXT
    limits = section("### Limits")
    assert f"`{format_cents(settings.MAX_AMOUNT_CENTS)}`" in row_for("largest amount", limits)[1]
    assert f"`{settings.DATA_UPLOAD_MAX_MEMORY_SIZE}`" in row_for("request body", limits)[1]
    page_size = row_for("page size", limits)[1]
    assert f"`{settings.REST_FRAMEWORK['PAGE_SIZE']}`" in page_size
    assert f"`{MAX_PAGE_SIZE}`" in page_size
    assert f"`{KEY_PATTERN}`" in row_for("Idempotency-Key", limits)[1]
    assert f"`{SKU_PATTERN}`" in row_for("SKU", limits)[1]
    assert f"1 to {MAX_ORDER_LINES} lines" in row_for("an order", limits)[1]
    assert f"`{DEMO_PASSWORD}`" in TEXT
    document = row_for("a GraphQL document", limits)[1]
    for limit in (MAX_DEPTH, MAX_TOKENS, MAX_ALIASES):
        assert f"`{limit}`" in document, limit


def test_the_compliance_rules_and_their_defaults_are_the_code_s() -> None:
    rules = RuleSettings.from_mapping(settings.COMPLIANCE_RULES)
    table = section("#### Compliance")
    low, high = rules.structuring_band_cents
    expected = {
        "large_transfer": [f"`{format_cents(rules.large_transfer_cents)}`"],
        "daily_limit": [f"`{format_cents(rules.daily_limit_cents)}`"],
        "velocity": [
            f"{rules.velocity_count} or more",
            f"{int(rules.velocity_window.total_seconds()) // 60} minutes",
        ],
        "structuring": [
            f"`{format_cents(low)}` and `{format_cents(high)}`",
            f"{rules.structuring_count} or more",
            f"{int(rules.structuring_window.total_seconds()) // 3600} hours",
        ],
    }
    assert set(expected) == set(RULE_NAMES)
    for rule, phrases in expected.items():
        condition = row_for(rule, table)[1]
        for phrase in phrases:
            assert phrase in condition, f"{rule}: {phrase}"


def test_every_graphql_root_field_and_its_arguments_are_on_the_page() -> None:
    table = section("### GraphQL at `/graphql`")
    named = 0
    names = graphql_schema.config.name_converter
    for root in (graphql_schema.query, graphql_schema.mutation):
        for field in root.__strawberry_definition__.fields:  # type: ignore[union-attr]
            arguments = row_for(names.get_graphql_name(field), table)[2]
            for argument in field.arguments:
                shown = names.get_graphql_name(argument)
                assert re.search(rf"\b{shown}\b", arguments), f"{field.name}({shown})"
            named += 1
    assert named == len(list(table_rows(table))) > 10


# --- Errors ----------------------------------------------------------------------------------


def domain_errors(base: type[DomainError] = DomainError) -> Iterator[type[DomainError]]:
    for subclass in base.__subclasses__():
        yield subclass
        yield from domain_errors(subclass)


def api_errors() -> Iterator[tuple[int | None, str]]:
    """The (status, code) of every error the code outside the domain raises by name."""
    raised = r'(?:ApiError|json_error|refusal|__init__)\(\s*(\d{3}),\s*(?:[\w.]+\s+or\s+)?"(\w+)"'
    named = r'"code":\s*"(\w+)"|error_body\(\s*"(\w+)"|\bcode = (?:[\w.]+ or )?"(\w+)"'
    for file in source_files():
        source = file.read_text()
        for status, code in re.findall(raised, source):
            yield int(status), code
        for groups in re.findall(named, source):
            yield None, next(g for g in groups if g)


ERRORS = section("### Errors")


def test_every_domain_error_code_is_on_the_page_with_its_status() -> None:
    codes = {e.code for e in domain_errors()} - ABSTRACT_CODES
    assert {"insufficient_funds", "out_of_stock", "refund_pending", "invalid_state"} <= codes
    for code in codes:
        status = row_for(code, ERRORS)[1]
        assert status == str(STATUS_BY_DOMAIN_CODE.get(code, 409)), code


def test_every_error_the_api_layer_answers_is_on_the_page_with_its_status() -> None:
    for exception, code in DRF_CODES.items():
        assert row_for(code, ERRORS)[1] == str(exception.status_code), code
    assert exceptions.Throttled in DRF_CODES
    found = list(api_errors())
    assert {(503, "projection_behind"), (None, "length_required"), (413, "body_too_large")} <= set(
        found
    )
    for status, code in found:
        if code in ABSTRACT_CODES:
            continue
        shown = row_for(code, ERRORS)[1]
        if status is not None:
            assert shown == str(status), code


# --- Events ----------------------------------------------------------------------------------


def catalogues() -> list[EventCatalogue]:
    """The catalogue each context declares in its ``contract.py`` (read there, not from the
    applications, whose catalogues the test settings extend with a test's own event)."""
    found: list[EventCatalogue] = []
    for context in settings.EVENT_STORE_CONTEXTS:
        contract = importlib.import_module(f"{context}.contract")
        found.extend(v for v in vars(contract).values() if isinstance(v, EventCatalogue))
    assert [c.source for c in found] == list(settings.EVENT_STORE_CONTEXTS)
    return found


def data_fields(event_class: type) -> set[str]:
    """The fields an event publishes in ``data``: its annotated attributes, less those the
    envelope carries itself and the class's own settings."""
    annotations: dict[str, Any] = {}
    for klass in reversed(event_class.__mro__):
        annotations.update(vars(klass).get("__annotations__", {}))
    return {
        name
        for name, annotation in annotations.items()
        if name not in _BASE_FIELDS and "ClassVar" not in str(annotation)
    }


EVENTS = section("### Published events")


def test_every_published_event_is_on_the_page_with_its_source_data_and_amounts() -> None:
    published = set()
    for catalogue in catalogues():
        for event_class, event_type in catalogue._types.items():
            published.add(event_type.name)
            _, source, data, amounts = row_for(event_type.name, EVENTS)
            assert source == f"`{catalogue.source}`", event_type.name
            fields = data_fields(event_class)
            assert words_in_spans(data) >= fields, event_type.name
            assert fields or data == "—", event_type.name
            assert spans(amounts) == set(event_type.money_fields), event_type.name
    assert {n for row in table_rows(EVENTS) for n in names_in(row[0])} == published


def test_the_envelope_table_names_every_field_of_the_envelope() -> None:
    table = section("### The envelope")
    fields = {n for row in table_rows(table) for n in names_in(row[0])}
    for field in re.findall(r'"(\w+)":', (ROOT / "kernel" / "events.py").read_text()):
        assert field in fields, field
