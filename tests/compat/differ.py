"""Runs the same steps against real Neutron 21 and neutrino-server and reports where their
answers differ: the status, the NeutronError type, the attribute sets and the values that
are deterministic. Ids are compared by what they name: each server's ids are mapped to the
step variable that captured them ($net, $port, ...).

A step is a dict:
  id      stable name (the allow-list refers to it)
  who     (project, roles)       default ("pa", "member"); "admin" is ("padmin", "admin")
  method, path                   path and body may use $variables captured before
  body    JSON body or None
  save    {"var": "key.path"}    captures from the answer, e.g. {"net": "network.id"}
  compare "full" (default), "status" (status and error type only), "keys" (no values)
"""
import copy
import fnmatch
import json
import re

import requests

# Values that differ by nature between two servers (random or time-based).
VOLATILE = {"created_at", "updated_at", "mac_address", "provider:segmentation_id", "revision_number", "standard_attr_id",
            "dns_assignment", "binding:vif_details", "request_ids"}
VAR = re.compile(r"\$([a-z][a-z0-9_]*)")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def substitute(value, symbols):
    if isinstance(value, str):
        return VAR.sub(lambda m: str(symbols.get(m.group(1), m.group(0))), value)  # captured numbers too
    if isinstance(value, list):
        return [substitute(v, symbols) for v in value]
    if isinstance(value, dict):
        return {substitute(k, symbols): substitute(v, symbols) for k, v in value.items()}
    return value


def dig(doc, path):
    for part in path.split("."):
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


class Backend:
    def __init__(self, server):
        self.server = server
        self.symbols = {}  # variable -> id on this server
        self.retries = 0  # requests asked again after a "database is locked" 500
        self.session = requests.Session()

    def call(self, step):
        project, roles = step.get("who", ("pa", "member"))
        headers = {"X-Project-Id": project, "X-User-Id": "u-" + project, "X-Roles": roles}
        headers.update(step.get("headers", {}))
        body = substitute(copy.deepcopy(step.get("body")), self.symbols)
        data = step.get("raw") if "raw" in step else (json.dumps(body) if body is not None else None)
        if data is not None and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        url = self.server.url + substitute(step["path"], self.symbols)
        r = self.session.request(step["method"], url, data=data, headers=headers, timeout=30)
        # Neutron on SQLite now and then fails a commit with "database is locked" (its
        # background work holds the file) and answers 500 having changed nothing: ask again.
        for _ in range(3):
            if r.status_code != 500 or not self.server.retries_locked_database or not self.server.locked_since(r):
                break
            self.retries += 1
            r = self.session.request(step["method"], url, data=data, headers=headers, timeout=30)
        try:
            doc = r.json() if r.text else None
        except ValueError:
            doc = r.text
        for var, path in step.get("save", {}).items():
            found = dig(doc, path) if r.status_code < 300 else None
            if found is not None:
                self.symbols[var] = found
        return r.status_code, doc

    def normalise(self, doc, ips_chosen_by_server=False, literals=frozenset()):
        """The answer with ids replaced by the variables that captured them; ids no step
        captured become <uuid>; addresses the server chose itself (Neutron picks them at
        random) become <ip>. A value the step itself sent (`literals`) stays as it is, even
        when a server happened to give that value to a captured address."""
        names = {v: "$" + k for k, v in self.symbols.items() if isinstance(v, str) and v not in literals}

        def volatile(k, x):
            return k in VOLATILE or (k in ("ip_address", "floating_ip_address") and ips_chosen_by_server)

        def walk(v):
            if isinstance(v, dict):
                return {k: ("<volatile>" if volatile(k, x) else walk(x)) for k, x in sorted(v.items())}
            if isinstance(v, list):
                items = [walk(x) for x in v]
                return sorted(items, key=lambda x: json.dumps(x, sort_keys=True)) if all(isinstance(x, dict) for x in items) else items
            if isinstance(v, str) and v in names:
                return names[v]
            if isinstance(v, str) and UUID.match(v):
                return "<uuid>"
            return v
        return walk(doc)


LAST_RETRIES = 0  # of the last run()


def literal_strings(body):
    """The strings a step's body gives literally (not through a $variable)."""
    if isinstance(body, str):
        return {body} if not VAR.search(body) else set()
    if isinstance(body, list):
        return set().union(*(literal_strings(x) for x in body)) if body else set()
    if isinstance(body, dict):
        return set().union(*(literal_strings(x) for x in body.values())) if body else set()
    return set()


def error_type(doc):
    if isinstance(doc, dict) and isinstance(doc.get("NeutronError"), dict):
        return doc["NeutronError"].get("type")
    return None


def key_sets(doc, prefix=""):
    """The attribute names of every object in the answer, by path."""
    out = {}
    if isinstance(doc, dict):
        out[prefix or "."] = set(doc)
        for k, v in doc.items():
            if isinstance(v, (dict, list)) and k not in VOLATILE:
                out.update(key_sets(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(doc, list):
        for v in doc:
            for path, keys in key_sets(v, prefix + "[]").items():
                out.setdefault(path, set()).update(keys)
    return out


def compare(step, ref, ours):
    """Differences between Neutron's answer (ref) and ours, as short sentences."""
    (rs, rd), (os_, od) = ref, ours
    out = []
    if rs != os_:
        out.append(f"status {os_}, Neutron {rs}")
    if rs >= 400 or os_ >= 400:
        if error_type(rd) != error_type(od):
            out.append(f"type {error_type(od)}, Neutron {error_type(rd)}")
        return out
    mode = step.get("compare", "full")
    if mode == "status" or rs == 204:
        return out
    rk, ok = key_sets(rd), key_sets(od)
    for path in sorted(set(rk) | set(ok)):
        missing, extra = rk.get(path, set()) - ok.get(path, set()), ok.get(path, set()) - rk.get(path, set())
        if missing:
            out.append(f"{path}: missing {sorted(missing)}")
        if extra:
            out.append(f"{path}: extra {sorted(extra)}")
    if mode == "full" and not out:
        diffs = []
        value_diffs(step["ref_norm"], step["our_norm"], "", diffs)
        out += diffs[:5]
    return out


def value_diffs(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) & set(b)):
            value_diffs(a[k], b[k], f"{path}.{k}" if path else k, out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            value_diffs(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {json.dumps(b)[:80]}, Neutron {json.dumps(a)[:80]}")


class Allow:
    """The allow-list: step id (a glob) -> the reason the difference is accepted, or
    {"reason": ..., "diff": TEXT}: then only differences containing TEXT are accepted."""

    def __init__(self, path):
        self.entries = json.loads(path.read_text()) if path.exists() else {}
        self.used = set()

    def reason(self, step_id, diffs):
        for pattern, entry in self.entries.items():
            if not fnmatch.fnmatchcase(step_id, pattern):
                continue
            why, only = (entry, None) if isinstance(entry, str) else (entry["reason"], entry.get("diff"))
            if only and not all(only in d for d in diffs):
                continue
            self.used.add(pattern)
            return why
        return None


def run(steps, neutron, neutrino, allow):
    global LAST_RETRIES
    ref, ours = Backend(neutron), Backend(neutrino)
    unexplained, explained = [], []
    for step in steps:
        r = ref.call(step)
        o = ours.call(step)
        chosen = "ip_address" not in json.dumps(step.get("body")) or step.get("ips_chosen_by_server", False)
        sent = literal_strings(step.get("body"))
        step["ref_norm"], step["our_norm"] = ref.normalise(r[1], chosen, sent), ours.normalise(o[1], chosen, sent)
        diffs = compare(step, r, o)
        if not diffs:
            continue
        step["answers"] = (r, o)
        why = allow.reason(step["id"], diffs)
        (explained if why else unexplained).append((step, diffs, why))
    LAST_RETRIES = ref.retries
    return unexplained, explained
