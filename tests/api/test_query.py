"""Collection queries: filters (AND/OR), fields, sorting, paging with *_links, bulk create,
If-Match, tags, changed_since, and find-by-name through openstacksdk."""
import time
from urllib.parse import parse_qs, urlparse

import openstack
import pytest

from neutrino_api import expect_error, uniq


def tagged_networks(api, n, tag=None, **attrs):
    tag = tag or uniq("tag")
    nets = [api.network(name=f"{tag}-{i}", tags=[tag], **attrs) for i in range(n)]
    return tag, nets


def links_of(body, collection):
    return {link["rel"]: link["href"] for link in body.get(f"{collection}_links", [])}


# -- filters ------------------------------------------------------------------------

def test_filters_and_or(api):
    tag, nets = tagged_networks(api, 4)
    api.update("networks", nets[1]["id"], admin_state_up=False)
    api.update("networks", nets[2]["id"], admin_state_up=False)
    names = lambda got: sorted(n["name"] for n in got)  # noqa: E731
    # repeated key = OR
    assert names(api.list("networks", {"name": [nets[0]["name"], nets[1]["name"]]})) == \
        sorted([nets[0]["name"], nets[1]["name"]])
    # different keys = AND
    assert names(api.list("networks", {"tags": tag, "admin_state_up": "false"})) == \
        sorted([nets[1]["name"], nets[2]["name"]])
    assert names(api.list("networks", {"name": [nets[0]["name"], nets[1]["name"]], "admin_state_up": "false"})) \
        == [nets[1]["name"]]
    # boolean spellings
    for spelling in ("True", "true", "1"):
        assert names(api.list("networks", {"tags": tag, "admin_state_up": spelling})) == \
            sorted([nets[0]["name"], nets[3]["name"]])
    assert [n["id"] for n in api.list("networks", {"id": [nets[3]["id"]]})] == [nets[3]["id"]]
    assert api.list("networks", {"name": uniq("nobody")}) == []


def test_port_filters(api):
    net, sub = api.net_with_subnet("10.100.0.0/24")
    a = api.port(net["id"], fixed_ips=[{"ip_address": "10.100.0.11"}], device_id="vm-a", device_owner="compute:nova")
    b = api.port(net["id"], fixed_ips=[{"ip_address": "10.100.0.12"}])
    cases = [
        ({"fixed_ips": "ip_address=10.100.0.11"}, [a["id"]]),
        ({"fixed_ips": f"subnet_id={sub['id']}"}, [a["id"], b["id"]]),
        ({"fixed_ips": ["ip_address=10.100.0.11", "ip_address=10.100.0.12"]}, [a["id"], b["id"]]),  # OR
        ({"fixed_ips": "ip_address_substr=0.0.12"}, [b["id"]]),  # ip-substring-filtering
        ({"device_id": "vm-a"}, [a["id"]]),
        ({"device_id": ""}, [b["id"]]),  # empty-string-filtering
        ({"mac_address": b["mac_address"]}, [b["id"]]),
        ({"device_owner": "compute:nova", "status": "DOWN"}, [a["id"]]),
    ]
    wrong = []
    for params, expected in cases:
        got = sorted(p["id"] for p in api.list("ports", dict(params, network_id=net["id"])))
        if got != sorted(expected):
            wrong.append(f"{params}: expected {sorted(expected)}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_many_filter_values_answer_as_few(api):
    """A query string with a thousand values of one filter (looked up, not compared one by
    one) finds what the same filter with only the matching value finds; fixed_ips fields
    AND on one fixed IP, values of one field OR (as Neutron 21: tests/compat)."""
    net, sub = api.net_with_subnet("10.101.0.0/24")
    tag = uniq("tag")
    a = api.port(net["id"], fixed_ips=[{"ip_address": "10.101.0.11"}], name=uniq("a"), tags=[tag])
    b = api.port(net["id"], fixed_ips=[{"ip_address": "10.101.0.12"}], name=uniq("b"))
    others = [f"ip_address=10.102.{i // 250}.{i % 250}" for i in range(1000)]
    subnets = [f"subnet_id=x{i}" for i in range(500)]
    cases = [
        ({"fixed_ips": others + ["ip_address=10.101.0.12"]}, [b["id"]]),
        ({"fixed_ips": others + ["ip_address=10.101.0.11", "ip_address=10.101.0.12", "ip_address_substr=0.11"]}, [a["id"]]),
        ({"fixed_ips": others + ["ip_address_substr=0.11"]}, []),
        ({"fixed_ips": subnets + [f"subnet_id={sub['id']}"]}, [a["id"], b["id"]]),
        ({"fixed_ips": subnets + [f"subnet_id={sub['id']}"] + others + ["ip_address=10.101.0.12"]}, [b["id"]]),
        ({"fixed_ips": subnets + others + ["ip_address=10.101.0.12"]}, []),
        ({"fixed_ips": ["ip_address=10.101.0.11"] * 1500}, [a["id"]]),
        ({"fixed_ips": ["mac_address=x", "ip_address=10.101.0.11"]}, [a["id"]]),  # other fields are ignored
        ({"fixed_ips": ["mac_address=x"]}, [a["id"], b["id"]]),
        ({"name": [f"n{i}" for i in range(1000)] + [a["name"]]}, [a["id"]]),
        ({"tags-any": ",".join([f"t{i}" for i in range(2000)] + [tag])}, [a["id"]]),
        ({"not-tags-any": ",".join([f"t{i}" for i in range(2000)] + [tag])}, [b["id"]]),
    ]
    wrong = []
    for params, expected in cases:
        got = sorted(p["id"] for p in api.list("ports", dict(params, network_id=net["id"], device_owner="")))
        if got != sorted(expected):
            wrong.append(f"case {cases.index((params, expected))}: expected {sorted(expected)}, got {got}")
    assert not wrong, "\n".join(wrong)
    # a value that is not FIELD=VALUE is refused, as Neutron does
    expect_error(api("GET", "/v2.0/ports", params={"fixed_ips": ["ip_address=10.101.0.11", "abc"]}), 400, "InvalidInput",
                 "'abc' is not of the form <key>=[value]")


@pytest.mark.parametrize("params", [{"admin_state_up": "maybe"}, {"shared": "sometimes"},
                                    {"router:external": "2"}])
def test_unconvertible_filter_value_is_400(api, params):
    # filter values go through the attribute's convert_to (api_common.get_filters_from_dict);
    # convert_to_boolean raises InvalidInput: a 400, not an empty list
    expect_error(api("GET", "/v2.0/networks", params=params), 400, "InvalidInput")


def test_links_honour_x_forwarded_proto(api, server):
    tagged_networks(api, 2, tag=(tag := uniq("xfp")))
    r = api("GET", "/v2.0/networks", params={"tags": tag, "limit": 1}, headers={"X-Forwarded-Proto": "https"})
    links = links_of(r.json(), "networks")
    assert links["next"].startswith("https://127.0.0.1:%d/v2.0/networks" % server.port), links


def test_unknown_filter_is_400(api):
    r = api("GET", "/v2.0/networks", params={"colour": "blue"})
    err = expect_error(r, 400, "HTTPBadRequest")
    assert "colour" in err["message"] and "is invalid attribute for filtering" in err["message"]
    for coll in ("subnets", "ports", "security-groups", "security-group-rules"):
        expect_error(api("GET", f"/v2.0/{coll}", params={"colour": "blue"}), 400, "HTTPBadRequest")


def test_project_and_tenant_filter_conflict(api, project):
    r = api("GET", "/v2.0/networks", params={"project_id": project, "tenant_id": "other"})
    expect_error(r, 400, "TenantIdProjectIdFilterConflict")
    net = api.network()
    assert net["id"] in {n["id"] for n in api.list("networks", {"tenant_id": project})}


def test_fields(api):
    tag, nets = tagged_networks(api, 2)
    r = api("GET", "/v2.0/networks", params={"tags": tag, "fields": ["id", "name"]})
    assert r.status_code == 200
    got = r.json()["networks"]
    assert len(got) == 2 and all(set(n) == {"id", "name"} for n in got), got
    r = api("GET", f"/v2.0/networks/{nets[0]['id']}", params={"fields": "mtu"})
    assert r.status_code == 200 and r.json()["network"] == {"mtu": nets[0]["mtu"]}
    # fields together with paging still pages by id, without leaking the id back
    r = api("GET", "/v2.0/networks", params={"tags": tag, "fields": "name", "limit": 1})
    assert r.status_code == 200
    assert [set(n) for n in r.json()["networks"]] == [{"name"}]
    assert "next" in links_of(r.json(), "networks")


# -- sorting ------------------------------------------------------------------------

def test_sorting(api):
    tag = uniq("sort")
    names = ["delta", "alpha", "charlie", "bravo"]
    nets = [api.network(name=f"{tag}-{n}", tags=[tag], admin_state_up=(n in ("alpha", "charlie")))
            for n in names]
    got = api.list("networks", {"tags": tag, "sort_key": "name", "sort_dir": "asc"})
    assert [n["name"] for n in got] == sorted(n["name"] for n in nets)
    got = api.list("networks", {"tags": tag, "sort_key": "name", "sort_dir": "desc"})
    assert [n["name"] for n in got] == sorted((n["name"] for n in nets), reverse=True)
    got = api.list("networks", {"tags": tag, "sort_key": ["admin_state_up", "name"], "sort_dir": ["desc", "asc"]})
    assert [n["name"].split("-")[-1] for n in got] == ["alpha", "charlie", "bravo", "delta"]


@pytest.mark.parametrize("params", [
    {"sort_key": "name", "sort_dir": "sideways"},
    {"sort_key": ["name", "id"], "sort_dir": "asc"},
    {"sort_key": "no_such_attribute", "sort_dir": "asc"},
    {"sort_key": "subnets", "sort_dir": "asc"},
    {"limit": "-1"},
    {"limit": "lots"},
])
def test_bad_sort_and_limit(api, params):
    expect_error(api("GET", "/v2.0/networks", params=params), 400)


def test_unknown_marker_is_not_500(api):
    r = api("GET", "/v2.0/networks", params={"limit": 1, "marker": "c0ffee00-0000-4000-8000-000000000000"})
    assert r.status_code in (400, 404), r.text


# -- paging -------------------------------------------------------------------------

def walk(api, url, collection, rel):
    """Follow `rel` links from url; return (items in page order, list of pages)."""
    pages = []
    while url:
        r = api("GET", url)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append((body[collection], links_of(body, collection)))
        url = pages[-1][1].get(rel)
        assert len(pages) < 100, "paging does not end"
    return pages


def test_paging_forward_and_back_with_links(api, server):
    tag, nets = tagged_networks(api, 5)
    full = api.list("networks", {"tags": tag})
    by_id = sorted(n["id"] for n in full)
    assert len(by_id) == 5

    pages = walk(api, f"/v2.0/networks?tags={tag}&limit=1", "networks", "next")
    items = [n["id"] for page, _ in pages for n in page]
    assert items == by_id  # default order when paging is by id
    assert len(pages) == 6, [len(p) for p, _ in pages]
    last_items, last_links = pages[-1]
    assert last_items == [] and "next" not in last_links
    for page, links in pages[:-1]:
        assert len(page) == 1 and "next" in links
        href = links["next"]
        assert href.startswith(server.url + "/v2.0/networks")
        q = parse_qs(urlparse(href).query)
        assert q["marker"] == [page[0]["id"]] and q["limit"] == ["1"] and q["tags"] == [tag]
        assert "page_reverse" not in q

    # walk back from the empty last page with the previous links
    assert "previous" in last_links
    back = walk(api, last_links["previous"], "networks", "previous")
    back_items = [n["id"] for page, _ in back for n in page]
    assert back_items == list(reversed(by_id))
    assert back[-1][0] == [] and "previous" not in back[-1][1]


def test_page_reverse_keeps_sort_order(api):
    tag, nets = tagged_networks(api, 5)
    by_id = sorted(n["id"] for n in nets)
    r = api("GET", "/v2.0/networks", params={"tags": tag, "limit": 2, "marker": by_id[3], "page_reverse": "True"})
    assert r.status_code == 200
    assert [n["id"] for n in r.json()["networks"]] == by_id[1:3]
    r = api("GET", "/v2.0/networks", params={"tags": tag, "limit": 2, "marker": by_id[1]})
    assert [n["id"] for n in r.json()["networks"]] == by_id[2:4]


def test_paging_with_sort_key(api):
    tag = uniq("psort")
    nets = [api.network(name=f"{tag}-{c}", tags=[tag]) for c in "ecadb"]
    expected = sorted((n["name"] for n in nets), reverse=True)
    pages = walk(api, f"/v2.0/networks?tags={tag}&limit=2&sort_key=name&sort_dir=desc", "networks", "next")
    assert [n["name"] for page, _ in pages for n in page] == expected
    assert [len(p) for p, _ in pages] == [2, 2, 1]  # a short page has no next link
    assert "next" not in pages[-1][1]


def test_paging_ports_and_subnets(api):
    net = api.network()
    subs = [api.subnet(net["id"], f"10.101.{i}.0/24") for i in range(3)]
    ports = [api.port(net["id"]) for _ in range(3)]
    for coll, body_key, made in (("subnets", "subnets", subs), ("ports", "ports", ports)):
        pages = walk(api, f"/v2.0/{coll}?network_id={net['id']}&limit=1", body_key, "next")
        assert [x["id"] for page, _ in pages for x in page] == sorted(x["id"] for x in made)


def test_pages_of_an_indexed_filter_are_pages_of_the_whole_list(api):
    """network_id is indexed: each page (either sort direction, any marker, page_reverse or
    not) is the one the whole filtered list gives."""
    net = api.network()
    api.subnet(net["id"], "10.102.0.0/24")
    ids = sorted(api.port(net["id"])["id"] for _ in range(6))
    for sort_dir in ("asc", "desc"):
        order = ids if sort_dir == "asc" else list(reversed(ids))
        for marker in [None] + ids:
            for reverse in (False, True):
                params = {"network_id": net["id"], "limit": 2, "sort_key": "id", "sort_dir": sort_dir}
                if marker:
                    params["marker"] = marker
                if reverse:
                    params["page_reverse"] = "True"
                r = api("GET", "/v2.0/ports", params=params)
                assert r.status_code == 200, r.text
                at = order.index(marker) if marker else None
                if reverse:
                    end = at if marker else len(order)
                    want = order[max(0, end - 2):end]
                else:
                    start = at + 1 if marker else 0
                    want = order[start:start + 2]
                assert [p["id"] for p in r.json()["ports"]] == want, params
    other = api.port(api.network()["id"])["id"]  # a marker the filter leaves out
    r = api("GET", "/v2.0/ports", params={"network_id": net["id"], "limit": 2, "marker": other})
    assert r.status_code == 404, r.text


def test_sdk_follows_pages(conn, admin):
    tag, nets = tagged_networks(admin, 5)
    got = [n.id for n in conn.network.networks(tags=tag, limit=2)]
    assert sorted(got) == sorted(n["id"] for n in nets)


# -- bulk ---------------------------------------------------------------------------

def test_bulk_create(api):
    tag = uniq("bulk")
    body = {"networks": [{"name": f"{tag}-{i}", "tags": [tag]} for i in range(3)]}
    r = api("POST", "/v2.0/networks", json=body)
    assert r.status_code == 201, r.text
    made = r.json()["networks"]
    assert [n["name"] for n in made] == [f"{tag}-{i}" for i in range(3)]
    assert sorted(n["id"] for n in api.list("networks", {"tags": tag})) == sorted(n["id"] for n in made)


def test_bulk_is_all_or_nothing(api):
    tag = uniq("bulk")
    body = {"networks": [{"name": f"{tag}-ok", "tags": [tag]}, {"name": f"{tag}-bad", "admin_state_up": "nope"},
                         {"name": f"{tag}-ok2", "tags": [tag]}]}
    expect_error(api("POST", "/v2.0/networks", json=body), 400)
    assert api.list("networks", {"tags": tag}) == []

    net, sub = api.net_with_subnet("10.102.0.0/24")
    body = {"ports": [{"network_id": net["id"], "name": f"{tag}-1", "mac_address": "fa:16:3e:00:aa:01"},
                      {"network_id": net["id"], "name": f"{tag}-2", "mac_address": "fa:16:3e:00:aa:01"}]}
    expect_error(api("POST", "/v2.0/ports", json=body), 409, "MacAddressInUse")
    body = {"ports": [{"network_id": net["id"], "name": f"{tag}-3", "fixed_ips": [{"ip_address": "10.102.0.9"}]},
                      {"network_id": net["id"], "name": f"{tag}-4", "fixed_ips": [{"ip_address": "10.102.0.9"}]}]}
    expect_error(api("POST", "/v2.0/ports", json=body), 409, "IpAddressAlreadyAllocated")
    assert api.list("ports", {"network_id": net["id"]}) == []
    # the addresses the failed bulks would have used are still free
    api.port(net["id"], mac_address="fa:16:3e:00:aa:01", fixed_ips=[{"ip_address": "10.102.0.9"}])

    body = {"subnets": [{"network_id": net["id"], "cidr": "10.103.0.0/24", "ip_version": 4},
                        {"network_id": net["id"], "cidr": "10.103.0.0/25", "ip_version": 4}]}
    expect_error(api("POST", "/v2.0/subnets", json=body), 400, "InvalidInput")
    assert [s["id"] for s in api.list("subnets", {"network_id": net["id"]})] == [sub["id"]]


def test_bulk_ports_get_distinct_addresses(api):
    net, _ = api.net_with_subnet("10.104.0.0/24")
    r = api("POST", "/v2.0/ports", json={"ports": [{"network_id": net["id"]} for _ in range(20)]})
    assert r.status_code == 201, r.text
    ports = r.json()["ports"]
    assert len({p["mac_address"] for p in ports}) == 20
    assert len({p["fixed_ips"][0]["ip_address"] for p in ports}) == 20


# -- If-Match -----------------------------------------------------------------------

def test_if_match(api):
    net = api.network()
    rev = net["revision_number"]
    r = api("PUT", f"/v2.0/networks/{net['id']}", json={"network": {"name": "x"}},
            headers={"If-Match": f"revision_number={rev}"})
    assert r.status_code == 200, r.text
    new_rev = r.json()["network"]["revision_number"]
    assert new_rev > rev
    r = api("PUT", f"/v2.0/networks/{net['id']}", json={"network": {"name": "y"}},
            headers={"If-Match": f"revision_number={rev}"})
    err = expect_error(r, 412, "RevisionNumberConstraintFailed")
    assert err["message"] == f"Constrained to {rev}, but current revision is {new_rev}"
    assert api.show("networks", net["id"])["name"] == "x"
    expect_error(api("DELETE", f"/v2.0/networks/{net['id']}", headers={"If-Match": f"revision_number={rev}"}),
                 412, "RevisionNumberConstraintFailed")
    expect_error(api("PUT", f"/v2.0/networks/{net['id']}", json={"network": {"name": "z"}},
                     headers={"If-Match": "revision_number=abc"}), 400)
    r = api("DELETE", f"/v2.0/networks/{net['id']}", headers={"If-Match": f"revision_number={new_rev}"})
    assert r.status_code == 204


def test_if_match_on_ports(api):
    net, _ = api.net_with_subnet("10.105.0.0/24")
    port = api.port(net["id"])
    expect_error(api("PUT", f"/v2.0/ports/{port['id']}", json={"port": {"name": "p"}},
                     headers={"If-Match": f"revision_number={port['revision_number'] + 5}"}),
                 412, "RevisionNumberConstraintFailed")


# -- tags ---------------------------------------------------------------------------

@pytest.mark.parametrize("coll", ["networks", "subnets", "ports", "security-groups"])
def test_tags_sub_resource(api, coll):
    net, sub = api.net_with_subnet(f"10.106.{['networks', 'subnets', 'ports', 'security-groups'].index(coll)}.0/24")
    rid = {"networks": lambda: net["id"], "subnets": lambda: sub["id"],
           "ports": lambda: api.port(net["id"])["id"],
           "security-groups": lambda: api.create("security-groups", name=uniq("sg"))["id"]}[coll]()
    base = f"/v2.0/{coll}/{rid}/tags"
    r = api("PUT", base, json={"tags": ["red", "green"]})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["tags"]) == ["green", "red"]
    r = api("GET", base)
    assert r.status_code == 200 and sorted(r.json()["tags"]) == ["green", "red"]
    r = api("PUT", f"{base}/blue")
    assert r.status_code == 201 and r.text == ""
    assert api("GET", f"{base}/blue").status_code == 204
    expect_error(api("GET", f"{base}/purple"), 404, "TagNotFound")
    expect_error(api("DELETE", f"{base}/purple"), 404, "TagNotFound")
    assert api("DELETE", f"{base}/red").status_code == 204
    assert sorted(api.show(coll, rid)["tags"]) == ["blue", "green"]
    assert api("DELETE", base).status_code == 204
    assert api.show(coll, rid)["tags"] == []
    expect_error(api("PUT", "/v2.0/" + coll + "/c0ffee00-0000-4000-8000-000000000000/tags/x"), 404)


def test_tag_validation(api):
    net = api.network()
    expect_error(api("PUT", f"/v2.0/networks/{net['id']}/tags", json={"tags": ["x" * 256]}), 400)
    expect_error(api("PUT", f"/v2.0/networks/{net['id']}/tags", json={"tags": [f"t{i}" for i in range(51)]}), 400)
    expect_error(api("PUT", f"/v2.0/networks/{net['id']}/tags", json={"tags": "red"}), 400)
    expect_error(api("PUT", f"/v2.0/networks/{net['id']}/tags/{'y' * 256}"), 400)
    assert api.show("networks", net["id"])["tags"] == []


def test_tag_filters(api):
    t = uniq("tf")
    a = api.network(tags=[f"{t}-a", f"{t}-b"])
    b = api.network(tags=[f"{t}-b", f"{t}-c"])
    c = api.network(tags=[f"{t}-c"])
    mine = {a["id"], b["id"], c["id"]}
    ids = lambda params: {n["id"] for n in api.list("networks", params)} & mine  # noqa: E731
    assert ids({"tags": f"{t}-b"}) == {a["id"], b["id"]}
    assert ids({"tags": f"{t}-b,{t}-c"}) == {b["id"]}
    assert ids({"tags-any": f"{t}-a,{t}-c"}) == {a["id"], b["id"], c["id"]}
    assert ids({"tags-any": f"{t}-a,{t}-c", "not-tags": f"{t}-b,{t}-c"}) == {a["id"], c["id"]}
    assert ids({"tags-any": f"{t}-a,{t}-c", "not-tags-any": f"{t}-a,{t}-b"}) == {c["id"]}


# -- changed_since ------------------------------------------------------------------

def test_changed_since(api):
    tag, (old, new) = tagged_networks(api, 2)
    time.sleep(1.1)
    changed = api.update("networks", new["id"], description="touched")
    assert changed["updated_at"] > old["updated_at"]
    got = {n["id"] for n in api.list("networks", {"tags": tag, "changed_since": changed["updated_at"]})}
    assert got == {new["id"]}
    got = {n["id"] for n in api.list("networks", {"tags": tag, "changed_since": old["updated_at"]})}
    assert got == {old["id"], new["id"]}
    expect_error(api("GET", "/v2.0/networks", params={"changed_since": "yesterday"}), 400, "InvalidInput")


# -- openstacksdk find --------------------------------------------------------------

def test_sdk_find_by_name_and_id(conn, admin):
    net, sub = admin.net_with_subnet("10.107.0.0/24")
    port = admin.port(net["id"])
    sg = admin.create("security-groups", name=uniq("sg"))
    assert conn.network.find_network(net["name"]).id == net["id"]
    assert conn.network.find_network(net["id"]).name == net["name"]
    assert conn.network.find_subnet(sub["name"]).cidr == "10.107.0.0/24"
    assert conn.network.find_port(port["name"]).mac_address == port["mac_address"]
    assert conn.network.find_security_group(sg["name"]).id == sg["id"]
    assert conn.network.find_network(uniq("missing")) is None
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        conn.network.find_network(uniq("missing"), ignore_missing=False)
    dup = uniq("dup")
    admin.network(name=dup)
    admin.network(name=dup)
    with pytest.raises(openstack.exceptions.DuplicateResource):
        conn.network.find_network(dup)


def test_sdk_crud(conn):
    name = uniq("sdk")
    net = conn.network.create_network(name=name, tags=[name])
    assert net.name == name and net.status == "ACTIVE" and net.mtu == 1450
    sub = conn.network.create_subnet(network_id=net.id, cidr="10.108.0.0/24", ip_version=4, name=name)
    assert sub.gateway_ip == "10.108.0.1"
    port = conn.network.create_port(network_id=net.id, name=name)
    assert port.fixed_ips[0]["subnet_id"] == sub.id and port.status == "DOWN"
    port = conn.network.update_port(port, name=name + "-x")
    assert conn.network.get_port(port.id).name == name + "-x"
    conn.network.delete_port(port)
    conn.network.delete_subnet(sub)
    conn.network.delete_network(net)
    assert conn.network.find_network(name) is None
