"""Collect (I/O only): read Cloud KMS, Resource Manager and IAM policies for each GCP project, read-only.

This is the per-project path: for every project, Resource Manager gives its number and ancestry (folders
up to the organization) and the IAM allow policies of the project and of every ancestor (the audit
configs come with them); Cloud KMS gives the locations, key rings, crypto keys, their versions and the IAM
policies of every ring and key.

Nothing here interprets what it reads: responses are kept as the REST JSON shape (camelCase, enums as
names) and ``normalise`` turns them into the inventory. Every failure becomes a CollectionError record;
one project failing never stops the others. The Google SDKs are imported inside functions only.

Settings from the environment (production defaults when unset):

* ``KEYAUDIT_HTTP_TIMEOUT``: seconds to wait for the answer to one request (default 30);
* ``KEYAUDIT_GCP_RETRY_DEADLINE``: seconds a call keeps retrying throttling (429) and transient 5xx
  answers before it is recorded as failed (default 20).
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from providers.gcp import clients
from providers.gcp.readonly import ReadOnlyGuardError, ReadOnlyViolation
from providers.recorder import Recorder
from scanner.inventory import CollectionError, ErrorClass, Provider
from scanner.progress import Progress
from scanner.shard import Shard, owned

T = TypeVar("T")

_REQUEST_PREFIX = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE) \S+: ")
POLICY_VERSION = 3  # conditional bindings are only returned (with their condition) for version 3
CUSTOM_ROLE_PREFIXES = ("projects/", "organizations/")
HTTP_TIMEOUT_ENV = "KEYAUDIT_HTTP_TIMEOUT"
RETRY_DEADLINE_ENV = "KEYAUDIT_GCP_RETRY_DEADLINE"


def _seconds_from_env(name: str, default: float) -> float:
    """A positive number of seconds from the environment, or ``default`` when unset."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        from scanner.errors import InputError

        raise InputError(f"{name}={text!r}: expected a positive number of seconds")
    return value


@dataclass
class GcpOptions:
    projects: tuple[str, ...] = ()
    organization: str | None = None  # "organizations/N": every project under it (Cloud Asset Inventory)
    folder: str | None = None  # "folders/N"
    endpoint: str | None = None  # --gcp-endpoint (Private Service Connect, or the loopback replay server)
    concurrency: int = 8
    anonymous: bool = False  # send no credentials (replay server only)
    credentials: Any = None  # google.auth credentials; None: Application Default Credentials
    # Throttling (429) and transient 5xx are retried with exponential backoff for this long per call;
    # what still fails becomes a collection error (UNKNOWN), never a pass.
    retry_deadline: float = field(default_factory=lambda: _seconds_from_env(RETRY_DEADLINE_ENV, 20.0))
    timeout: float = field(default_factory=lambda: _seconds_from_env(HTTP_TIMEOUT_ENV, 30.0))  # per request
    shard: Shard | None = None  # --shard I/N: only the projects this job owns

    @property
    def containers(self) -> tuple[str, ...]:
        return tuple(c for c in (self.organization, self.folder) if c)


@dataclass
class RawCryptoKey:
    name: str
    key: dict[str, Any]  # the CryptoKey as listed (REST JSON)
    versions: list[dict[str, Any]] | None = None  # None: the versions could not be listed
    policy: dict[str, Any] | None = None  # None: the key's IAM policy could not be read


@dataclass
class RawKeyRing:
    name: str
    location: str
    ring: dict[str, Any]
    keys: list[RawCryptoKey] | None = None  # None: the ring's keys could not be listed
    policy: dict[str, Any] | None = None


@dataclass
class RawLocation:
    location_id: str
    key_rings: list[RawKeyRing] | None = None  # None: the key rings could not be listed


@dataclass
class RawAncestor:
    """A folder or the organization above a project, nearest first in ``RawProject.ancestors``."""

    name: str  # folders/N or organizations/N
    display_name: str | None = None
    policy: dict[str, Any] | None = None  # None: its IAM policy could not be read


@dataclass
class RawEkmConnection:
    name: str
    location: str
    connection: dict[str, Any]


@dataclass
class RawProject:
    project_id: str
    resource: str | None = None  # projects/NUMBER, from get_project
    display_name: str | None = None
    ancestors: list[RawAncestor] = field(default_factory=list)
    ancestry_complete: bool = False  # every parent up to the organization (or a parentless top) was read
    policy: dict[str, Any] | None = None
    locations: list[RawLocation] | None = None  # None: the KMS locations could not be listed
    # Custom roles bound in the project's or its ancestors' policies whose permissions were not read.
    unresolved_roles: set[str] = field(default_factory=set)
    ekm_connections: list[RawEkmConnection] = field(default_factory=list)
    path: str = "per_project"  # how it was read: "per_project" or "asset_inventory"
    # Cloud Asset Inventory assets (RESOURCE content) of the project's AI resources (providers.gcp.ai);
    # None: they could not be listed.
    ai_assets: list[dict[str, Any]] | None = field(default_factory=list)


@dataclass
class RawGcpEstate:
    projects: list[RawProject]
    errors: list[CollectionError]
    api_calls: Counter[str] = field(default_factory=Counter)
    # Custom role name -> includedPermissions, read from the IAM API (roles.get) for every custom role
    # bound anywhere in the scanned hierarchy; a role that could not be read is absent here and listed in
    # the projects' ``unresolved_roles``.
    custom_roles: dict[str, list[str]] = field(default_factory=dict)
    role_errors: dict[str, tuple[ErrorClass, str]] = field(default_factory=dict)  # role -> why unread
    # Scan metadata: how each requested scope was read ("organizations/N" -> "asset_inventory" or
    # "per_project (fallback: ...)"), for the report's collection notes.
    paths: dict[str, str] = field(default_factory=dict)


def classify(exc: BaseException) -> ErrorClass:
    """The error class of a google-cloud client exception.

    Over REST, api_core picks the class from the HTTP status: a 403 is ``Forbidden`` (base of the gRPC
    ``PermissionDenied``), a 429 ``TooManyRequests`` (base of ``ResourceExhausted``): test base classes.
    """
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    if isinstance(exc, gexc.RetryError) and exc.cause is not None:
        return classify(exc.cause)  # throttling or 5xx that outlived the retries: say which
    if isinstance(exc, gexc.Forbidden | gexc.Unauthorized | auth_exc.DefaultCredentialsError):
        return ErrorClass.ACCESS_DENIED
    if isinstance(exc, gexc.TooManyRequests):
        return ErrorClass.THROTTLED
    if isinstance(exc, gexc.NotFound):
        return ErrorClass.NOT_FOUND
    if isinstance(exc, gexc.DeadlineExceeded | gexc.RetryError | TimeoutError):
        return ErrorClass.TIMEOUT
    if isinstance(exc, gexc.ServiceUnavailable | auth_exc.TransportError | ConnectionError):
        return ErrorClass.NETWORK
    if isinstance(exc, gexc.GoogleAPIError):
        return ErrorClass.SERVICE_ERROR
    from google.protobuf.json_format import ParseError

    if isinstance(exc, ParseError):  # the REST transport could not read the answer's JSON
        return ErrorClass.MALFORMED_RESPONSE
    if _is_requests_error(exc):
        from requests import exceptions as req_exc

        return ErrorClass.TIMEOUT if isinstance(exc, req_exc.Timeout) else ErrorClass.NETWORK
    if isinstance(exc, ValueError | KeyError | TypeError):
        return ErrorClass.MALFORMED_RESPONSE
    return ErrorClass.OTHER


def _is_requests_error(exc: BaseException) -> bool:
    from requests import exceptions as req_exc

    return isinstance(exc, req_exc.RequestException)


def describe(exc: BaseException) -> str:
    """A one-line message; never a token (api_core messages carry the Google error message only)."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.RetryError) and exc.cause is not None:
        return f"still failing after retries: {describe(exc.cause)}"[:500]
    if isinstance(exc, gexc.GoogleAPICallError):
        reason = f" ({exc.reason})" if exc.reason else ""
        # Over REST, api_core prefixes the message with "METHOD URL: ": the URL adds nothing a reader needs.
        message = _REQUEST_PREFIX.sub("", str(exc.message))
        return f"{type(exc).__name__}{reason}: {message}".strip()[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def as_dict(message: Any) -> dict[str, Any]:
    """A proto-plus or protobuf message as its REST JSON (camelCase, enums as names)."""
    from google.protobuf.json_format import MessageToDict

    pb = type(message).pb(message) if hasattr(type(message), "pb") else message
    return dict(MessageToDict(pb))


def custom_roles_in(policy: Mapping[str, Any] | None) -> set[str]:
    """Custom role names bound in a policy (``projects/P/roles/R``, ``organizations/O/roles/R``)."""
    if not policy:
        return set()
    roles = set()
    for binding in policy.get("bindings") or ():
        role = binding.get("role") if isinstance(binding, Mapping) else None
        if isinstance(role, str) and role.startswith(CUSTOM_ROLE_PREFIXES):
            roles.add(role.split("_withcond_", 1)[0])
    return roles


class _Clients(threading.local):
    """One set of clients per worker thread (each holds its own HTTP session)."""

    def __init__(self, options: GcpOptions) -> None:
        self.options = options
        self._built: dict[str, Any] = {}

    def get(self, kind: str) -> Any:
        found = self._built.get(kind)
        if found is None:
            factory = {
                "kms": clients.kms_client,
                "projects": clients.projects_client,
                "folders": clients.folders_client,
                "organizations": clients.organizations_client,
                "asset": clients.asset_client,
                "ekm": clients.ekm_client,
                "iam": clients.iam_roles_client,
            }[kind]
            found = factory(
                self.options.endpoint, credentials=self.options.credentials, anonymous=self.options.anonymous
            )
            self._built[kind] = found
        return found


def _retry(deadline: float) -> Any:
    from google.api_core import exceptions as gexc
    from google.api_core import retry

    return retry.Retry(
        predicate=retry.if_exception_type(
            gexc.TooManyRequests, gexc.ServiceUnavailable, gexc.InternalServerError, gexc.GatewayTimeout
        ),
        initial=0.25,
        maximum=4.0,
        multiplier=2.0,
        timeout=deadline,
    )


class GcpCollector:
    def __init__(self, options: GcpOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress
        self.recorder = Recorder(Provider.GCP, classify, describe)
        self.clients = _Clients(options)
        self._settings = {"retry": _retry(options.retry_deadline), "timeout": options.timeout}
        # Folders and organizations are shared by many projects: read each once.
        self._ancestor_lock = threading.Lock()
        self._ancestors: dict[str, tuple[tuple[RawAncestor, str | None, bool], list[CollectionError]]] = {}
        self._ancestor_locks: dict[str, threading.Lock] = {}

    def call_settings(self) -> dict[str, Any]:
        """``retry``/``timeout`` keyword arguments for every generated client method."""
        return self._settings

    # ------------------------------------------------------------------ calls
    def call(
        self,
        project: str,
        location: str | None,
        api: str,
        fn: Callable[[], T],
        resource: str | None = None,
        *,
        counted: bool = True,
    ) -> T | None:
        """Run one API call; any failure is recorded (never raised) and gives None."""
        if counted:
            self.recorder.count(api)
        try:
            return fn()
        except (ReadOnlyViolation, ReadOnlyGuardError):
            raise  # a defect in keyaudit, never a coverage gap
        except Exception as exc:  # recorded as a coverage gap (UNKNOWN), never turned into a pass
            self.recorder.error(project, location, api, exc, resource)
            return None

    def paged(
        self,
        project: str,
        location: str | None,
        api: str,
        make: Callable[[], Any],
        field_name: str,
        *,
        resource: str | None = None,
    ) -> list[dict[str, Any]] | None:
        """Every item of a pager, page by page (each page counted as one call)."""

        return self.call(
            project,
            location,
            api,
            lambda: self.pages(api, make, field_name, as_dict),
            resource,
            counted=False,
        )

    def pages(
        self, api: str, make: Callable[[], Any], field_name: str, convert: Callable[[Any], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Every item of a pager as REST JSON, one counted call per page; errors propagate."""
        items: list[dict[str, Any]] = []
        self.recorder.count(api)
        pager = make()
        for number, page in enumerate(pager.pages):
            if number:
                self.recorder.count(api)
            items.extend(convert(item) for item in getattr(page, field_name))
        return items

    def _policy(self, project: str, kind: str, resource: str, api: str, location: str | None = None) -> Any:
        client = self.clients.get(kind)
        request = {"resource": resource, "options": {"requested_policy_version": POLICY_VERSION}}
        return self.call(
            project,
            location,
            api,
            lambda: as_dict(client.get_iam_policy(request=request, **self._settings)),
            resource,
        )

    # ------------------------------------------------------------------ scopes
    def collect(self) -> RawGcpEstate:
        paths: dict[str, str] = {}
        raw: list[RawProject] = []
        for container in self.options.containers:
            # A folder inside the organization (or given twice) adds only the projects not read yet.
            seen = {p.project_id for p in raw}
            raw.extend(p for p in self._collect_container(container, paths, seen) if p.project_id not in seen)
        covered = {p.project_id for p in raw}
        explicit = [p for p in dict.fromkeys(self.options.projects) if p not in covered]
        if not self.options.projects and not self.options.containers:
            # No scope given: every active project the credentials can see.
            found = self._search_projects()
            paths["visible projects"] = "per_project"
            explicit = [] if found is None else [p for p in found if p not in covered]
        elif explicit:
            paths["projects"] = "per_project"
        # --shard: keep this job's projects (Cloud Asset listings are organization-wide and cheap; the
        # per-project reads, the expensive part, happen only for owned projects).
        raw = [p for p in raw if owned(self.options.shard, "gcp", p.project_id)]
        explicit = [p for p in explicit if owned(self.options.shard, "gcp", p)]
        raw.extend(self._per_project(explicit))
        custom_roles, role_errors = self._custom_roles(raw)
        for project in raw:
            project.unresolved_roles = self._unresolved_roles(project) - custom_roles.keys()
        return RawGcpEstate(
            projects=raw,
            errors=self.recorder.errors,
            api_calls=self.recorder.calls,
            custom_roles=custom_roles,
            role_errors=role_errors,
            paths=paths,
        )

    def _collect_container(self, container: str, paths: dict[str, str], seen: set[str]) -> list[RawProject]:
        """An organization or folder: Cloud Asset Inventory, else every project under it one by one."""
        from providers.gcp.assets import AssetUnavailable, read_scope

        task = self.progress.task(f"GCP {container} (Cloud Asset Inventory)", total=1)
        try:
            projects = read_scope(self, container)
        except AssetUnavailable as exc:
            paths[container] = f"per_project (Cloud Asset Inventory unavailable: {exc.reason})"
        else:
            paths[container] = "asset_inventory"
            return projects
        finally:
            task.advance()
        project_ids = self._projects_under(container)
        return self._per_project([p for p in project_ids or [] if p not in seen])

    def _per_project(self, project_ids: list[str]) -> list[RawProject]:
        if not project_ids:
            return []
        task = self.progress.task("GCP projects", total=len(project_ids))
        with ThreadPoolExecutor(
            max_workers=max(1, self.options.concurrency), thread_name_prefix="keyaudit-gcp"
        ) as pool:
            futures = [pool.submit(self._collect_project, project_id, task) for project_id in project_ids]
            return [future.result() for future in futures]

    def for_each(self, work: Callable[[RawProject], None], projects: list[RawProject], label: str) -> None:
        """Run ``work`` on every project, ``--concurrency`` at a time (failures are recorded by ``call``)."""
        if not projects:
            return
        task = self.progress.task(label, total=len(projects))

        def one(raw: RawProject) -> None:
            try:
                work(raw)
            finally:
                task.advance()

        with ThreadPoolExecutor(
            max_workers=max(1, self.options.concurrency), thread_name_prefix="keyaudit-gcp"
        ) as pool:
            list(pool.map(one, projects))

    def _search_projects(self) -> list[str] | None:
        projects = self.clients.get("projects")
        found = self.paged(
            "projects",
            None,
            "cloudresourcemanager.projects.search",
            lambda: projects.search_projects(request={"query": "state:ACTIVE"}, **self._settings),
            "projects",
            resource="projects",
        )
        if found is None:
            return None
        return sorted({str(p["projectId"]) for p in found if p.get("projectId") and _active(p)})

    def _projects_under(self, container: str) -> list[str] | None:
        """Every active project below a folder or organization (Resource Manager, folder by folder)."""
        folders = self.clients.get("folders")
        projects = self.clients.get("projects")
        found: set[str] = set()
        complete = True
        pending = [container]
        seen: set[str] = set()
        while pending:
            parent = pending.pop()
            if parent in seen:
                continue
            seen.add(parent)
            children = self.paged(
                container,
                None,
                "cloudresourcemanager.projects.list",
                lambda parent=parent: projects.list_projects(request={"parent": parent}, **self._settings),
                "projects",
                resource=parent,
            )
            subfolders = self.paged(
                container,
                None,
                "cloudresourcemanager.folders.list",
                lambda parent=parent: folders.list_folders(request={"parent": parent}, **self._settings),
                "folders",
                resource=parent,
            )
            if children is None or subfolders is None:
                complete = False
            found.update(str(p["projectId"]) for p in children or () if p.get("projectId") and _active(p))
            pending.extend(str(f["name"]) for f in subfolders or () if f.get("name") and _active(f))
        if not complete and not found:
            return None
        return sorted(found)

    def _collect_project(self, project_id: str, task: Any) -> RawProject:
        raw = RawProject(project_id=project_id, ai_assets=None)
        try:
            self._hierarchy(raw)
            raw.locations = self._locations(raw)
            raw.ekm_connections = self._ekm_connections(raw)
            raw.ai_assets = self._ai_assets(raw)
        except Exception as exc:  # a defect must not stop the other projects: record it
            self.recorder.error(project_id, None, "keyaudit.collect", exc, f"projects/{project_id}")
        finally:
            task.advance()
        return raw

    def complete_from_resource_manager(self, raw: RawProject) -> None:
        """Asset path: the project's full allow policy (audit configs included) and its ancestors'."""
        raw.path = "asset_inventory"
        pid = raw.project_id
        raw.policy = self._policy(
            pid, "projects", raw.resource or f"projects/{pid}", "cloudresourcemanager.projects.getIamPolicy"
        )
        chain = [a.name for a in raw.ancestors]
        raw.ancestors = []
        for name in chain:
            ancestor, _parent, read = self._ancestor(pid, name)
            raw.ancestors.append(ancestor)
            if not read:
                raw.ancestry_complete = False

    # ------------------------------------------------------------------ custom roles
    def _custom_roles(
        self, projects: list[RawProject]
    ) -> tuple[dict[str, list[str]], dict[str, tuple[ErrorClass, str]]]:
        """includedPermissions of every custom role bound anywhere in the scanned hierarchy (IAM roles.get).

        A role that cannot be read is not recorded as an error of one scope here: the normaliser reports
        it for every project where it is bound, with the reason kept in the second mapping.
        """
        wanted = sorted(set().union(*(self._unresolved_roles(p) for p in projects)) if projects else set())
        if not wanted:
            return {}, {}

        def read(role: str) -> tuple[str, list[str] | None, tuple[ErrorClass, str] | None]:
            self.recorder.count("iam.roles.get")
            try:
                found = self.clients.get("iam").get_role(role, **self._settings)
            except (ReadOnlyViolation, ReadOnlyGuardError):
                raise
            except Exception as exc:  # reported per project by the normaliser (access UNKNOWN)
                return role, None, (classify(exc), describe(exc))
            if found.get("deleted") or found.get("stage") == "DISABLED":
                # Bindings of a deleted or disabled custom role are inactive: they grant nothing.
                return role, [], None
            return role, [str(p) for p in found.get("includedPermissions") or ()], None

        with ThreadPoolExecutor(
            max_workers=max(1, self.options.concurrency), thread_name_prefix="keyaudit-gcp-iam"
        ) as pool:
            results = list(pool.map(read, wanted))
        roles = {role: perms for role, perms, _ in results if perms is not None}
        failures = {role: error for role, _, error in results if error is not None}
        return roles, failures

    def _hierarchy(self, raw: RawProject) -> None:
        pid = raw.project_id
        projects = self.clients.get("projects")
        project = self.call(
            pid,
            None,
            "cloudresourcemanager.projects.get",
            lambda: as_dict(projects.get_project(name=f"projects/{pid}", **self._settings)),
            f"projects/{pid}",
        )
        # getIamPolicy accepts the project id too, so the project's own policy is still read without it.
        raw.resource = project.get("name") if project else None
        raw.display_name = project.get("displayName") if project else None
        raw.policy = self._policy(
            pid, "projects", raw.resource or f"projects/{pid}", "cloudresourcemanager.projects.getIamPolicy"
        )
        if project is None:
            return
        parent = project.get("parent") or None
        seen: set[str] = set()
        while parent and parent not in seen:
            seen.add(parent)
            ancestor, next_parent, read = self._ancestor(pid, parent)
            if not read:
                return  # the chain above is unknown
            raw.ancestors.append(ancestor)
            parent = next_parent
        raw.ancestry_complete = parent is None or parent == ""

    def _ancestor(self, project: str, name: str) -> tuple[RawAncestor, str | None, bool]:
        """A folder or organization, its parent and whether it could be read (memoised across projects).

        Each is read once per scan; when that read failed, every other project below it gets a copy of
        the errors under its own scope (its coverage names the API too), without calling again.
        """
        with self._ancestor_lock:
            lock = self._ancestor_locks.setdefault(name, threading.Lock())
        with lock:  # projects sharing a folder wait for its one read instead of repeating it
            with self._ancestor_lock:
                found = self._ancestors.get(name)
            if found is not None:
                result, errors = found
                self.recorder.repeat_for(project, errors)
                return result
            before = len(self.recorder.errors)
            result = self._read_ancestor(project, name)
            errors = [e for e in self.recorder.errors[before:] if e.scope == project and e.resource == name]
            with self._ancestor_lock:
                self._ancestors[name] = (result, errors)
            return result

    def _read_ancestor(self, project: str, name: str) -> tuple[RawAncestor, str | None, bool]:
        if name.startswith(("folders/", "organizations/")):
            kind = noun = name.split("/", 1)[0]
            method = "get_folder" if kind == "folders" else "get_organization"

            def get() -> Any:
                return getattr(self.clients.get(kind), method)(name=name, **self._settings)

        else:
            self.recorder.error(
                project, None, "cloudresourcemanager.projects.get", ValueError(f"unknown parent {name}"), name
            )
            return RawAncestor(name=name), None, False
        read = self.call(project, None, f"cloudresourcemanager.{noun}.get", lambda: as_dict(get()), name)
        if read is None:
            result = (RawAncestor(name=name), None, False)
        else:
            policy = self._policy(project, kind, name, f"cloudresourcemanager.{noun}.getIamPolicy")
            ancestor = RawAncestor(name=name, display_name=read.get("displayName"), policy=policy)
            result = (ancestor, read.get("parent") or None, True)
        return result

    @staticmethod
    def _unresolved_roles(raw: RawProject) -> set[str]:
        """Custom roles bound in the project's, its ancestors', rings' and keys' policies."""
        roles = custom_roles_in(raw.policy)
        for ancestor in raw.ancestors:
            roles |= custom_roles_in(ancestor.policy)
        for location in raw.locations or ():
            for ring in location.key_rings or ():
                roles |= custom_roles_in(ring.policy)
                for key in ring.keys or ():
                    roles |= custom_roles_in(key.policy)
        return roles

    # ------------------------------------------------------------------ AI resources
    def _ai_assets(self, raw: RawProject) -> list[dict[str, Any]] | None:
        """The project's AI resources through Cloud Asset Inventory (one paged list call); None: unread."""
        from providers.gcp.assets import list_ai_assets

        parent = raw.resource or f"projects/{raw.project_id}"
        return self.call(
            raw.project_id,
            None,
            "cloudasset.assets.listAssets",
            lambda: list_ai_assets(self, parent),
            parent,
            counted=False,
        )

    # ------------------------------------------------------------------ Cloud KMS
    def _ekm_connections(self, raw: RawProject) -> list[RawEkmConnection]:
        """The EKM connections the project's keys are backed by (only those: one get each)."""
        wanted = sorted(
            {
                str(key.key.get("cryptoKeyBackend"))
                for location in raw.locations or ()
                for ring in location.key_rings or ()
                for key in ring.keys or ()
                if "/ekmConnections/" in str(key.key.get("cryptoKeyBackend") or "")
            }
        )
        ekm = self.clients.get("ekm")
        found = []
        for name in wanted:
            location = name.split("/")[3] if name.count("/") >= 3 else None
            connection = self.call(
                raw.project_id,
                location,
                "cloudkms.ekmConnections.get",
                lambda name=name: as_dict(ekm.get_ekm_connection(name=name, **self._settings)),
                name,
            )
            if connection is not None:
                found.append(RawEkmConnection(name=name, location=location or "", connection=connection))
        return found

    def _locations(self, raw: RawProject) -> list[RawLocation] | None:
        pid = raw.project_id
        kms = self.clients.get("kms")
        parent = f"projects/{pid}"

        def pages() -> list[str]:
            # list_locations is a mixin without a pager: follow next_page_token by hand.
            ids: list[str] = []
            token = ""
            first = True
            while first or token:
                if not first:
                    self.recorder.count("cloudkms.locations.list")
                first = False
                page = kms.list_locations(request={"name": parent, "page_token": token}, **self._settings)
                ids.extend(location.location_id for location in page.locations)
                token = page.next_page_token
            return ids

        location_ids = self.call(pid, None, "cloudkms.locations.list", pages, parent)
        if location_ids is None:
            return None
        return [self._location(pid, location_id) for location_id in location_ids]

    def _location(self, pid: str, location_id: str) -> RawLocation:
        kms = self.clients.get("kms")
        parent = f"projects/{pid}/locations/{location_id}"
        rings = self.paged(
            pid,
            location_id,
            "cloudkms.keyRings.list",
            lambda: kms.list_key_rings(request={"parent": parent}, **self._settings),
            "key_rings",
            resource=parent,
        )
        if rings is None:
            return RawLocation(location_id=location_id)
        return RawLocation(
            location_id=location_id, key_rings=[self._key_ring(pid, location_id, ring) for ring in rings]
        )

    def _key_ring(self, pid: str, location_id: str, ring: dict[str, Any]) -> RawKeyRing:
        kms = self.clients.get("kms")
        name = str(ring.get("name", ""))
        raw = RawKeyRing(name=name, location=location_id, ring=ring)
        raw.policy = self._policy(pid, "kms", name, "cloudkms.keyRings.getIamPolicy", location_id)
        keys = self.paged(
            pid,
            location_id,
            "cloudkms.cryptoKeys.list",
            lambda: kms.list_crypto_keys(request={"parent": name}, **self._settings),
            "crypto_keys",
            resource=name,
        )
        if keys is not None:
            raw.keys = [self._crypto_key(pid, location_id, key) for key in keys]
        return raw

    def _crypto_key(self, pid: str, location_id: str, key: dict[str, Any]) -> RawCryptoKey:
        kms = self.clients.get("kms")
        name = str(key.get("name", ""))
        raw = RawCryptoKey(name=name, key=key)
        raw.versions = self.paged(
            pid,
            location_id,
            "cloudkms.cryptoKeyVersions.list",
            lambda: kms.list_crypto_key_versions(request={"parent": name}, **self._settings),
            "crypto_key_versions",
            resource=name,
        )
        raw.policy = self._policy(pid, "kms", name, "cloudkms.cryptoKeys.getIamPolicy", location_id)
        return raw


def _active(resource: Mapping[str, Any]) -> bool:
    """Resource Manager lists projects and folders pending deletion too; those are not scanned."""
    return resource.get("state") in (None, "ACTIVE", 1)
