//! `proxy-conf.md` section 14 at the real paths: lists, maps and includes in
//! `/opt/proxy_config`, served by the real binary and reloaded by the real
//! `update.sh` — a map-driven redirect, a host → tenant map, an include tree,
//! a changed map file, and a broken one that keeps the old rules serving.

use crate::Case;
use crate::client::get;
use crate::logs::{ACCESS_LOG, read_json_log};
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::proxy::Proxy;
use crate::scripts::run_script;
use crate::world::World;

/// The map and include cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new("maps_csv_redirects_thousands_of_urls", csv_redirects),
        Case::new("maps_host_to_tenant_header", host_to_tenant),
        Case::new("maps_include_tree_in_order", include_tree),
        Case::new("maps_update_sh_rereads_a_changed_map_file", update_map_file),
        Case::new("maps_broken_map_file_keeps_the_old_rules", broken_map_file),
    ]
}

const REDIRECT_MAP: &str = "map legacy from \"redirects.csv\"\n\n\
rule legacy-urls {\n    when path in $legacy\n    redirect 301 \"{$legacy}\"\n}\n";

/// `/old/N` → `/new/N` for N below `count`, in CRLF with a BOM and a
/// comment, the way a spreadsheet exports it.
fn redirects_csv(count: usize, target: &str) -> Vec<u8> {
    let mut text = String::from("\u{FEFF}# old,new\r\n");
    for n in 0..count {
        text.push_str(&format!("/old/{n},/{target}/{n}\r\n"));
    }
    text.push_str("\"/with,comma\",\"/quoted?q=\"\"x\"\"\"");
    text.into_bytes()
}

fn csv_redirects(world: &World) {
    world.write_config(REDIRECT_MAP);
    world.write_config_file("redirects.csv", redirects_csv(5_000, "new"));
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let got = get("/old/4321?utm=1", &[]);
    assert_eq!(got.status, 301);
    assert_eq!(got.header("location"), Some("/new/4321?utm=1"));
    let got = get("/with,comma", &[]);
    assert_eq!(got.header("location"), Some("/quoted?q=%22x%22"));
    // A dot segment is normalized before the lookup.
    let got = get("/x/../old/7", &["--path-as-is"]);
    assert_eq!(got.header("location"), Some("/new/7"));
    let got = get("/old/5000", &[]);
    assert_eq!(got.status, 200, "not a key: forwarded");
    assert_eq!(origin.requests().len(), 1);
    proxy.stop();
    let lines = read_json_log(ACCESS_LOG);
    let redirect = lines
        .iter()
        .find(|l| l["status"] == "301")
        .expect("a redirect line");
    assert_eq!(redirect["rules"], "legacy-urls");
}

fn host_to_tenant(world: &World) {
    world.write_config(
        "map tenants {\n    \"shop.example.com\"  \"shop\"\n    \"blog.example.com\"  \"blog\"\n}\n\n\
         rule tenant {\n    when host in $tenants\n    request header set X-Tenant \"{$tenants}\"\n}\n\n\
         rule unknown-tenant {\n    when host not in $tenants\n    respond 404 \"no such site\\n\"\n}\n",
    );
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let got = get("/", &["-H", "Host: Shop.Example.com:8080"]);
    assert_eq!(got.status, 200);
    let got = get("/", &["-H", "Host: blog.example.com"]);
    assert_eq!(got.status, 200);
    let seen = origin.requests();
    assert_eq!(seen[0].header("x-tenant"), Some("shop"));
    assert_eq!(seen[1].header("x-tenant"), Some("blog"));
    let got = get("/", &["-H", "Host: other.example.com"]);
    assert_eq!(got.status, 404);
    assert_eq!(got.text(), "no such site\n");
    assert_eq!(origin.requests().len(), 2);
    proxy.stop();
}

fn include_tree(world: &World) {
    world.write_config(
        "list office [\"10.0.0.0/8\"]\n\
         rule first {\n    response header add X-Order \"first\"\n}\n\
         include \"rules/*.conf\"\n\
         rule last {\n    response header add X-Order \"last\"\n}\n",
    );
    world.write_config_file(
        "rules/10-admin.conf",
        b"rule admin {\n    when path ^= \"/admin\" and not client_ip in $office\n    respond 403\n}\n\
          include \"rules/shop/*.conf\"\n",
    );
    world.write_config_file(
        "rules/20-tag.conf",
        b"rule tag {\n    response header add X-Order \"twenty\"\n}\n",
    );
    world.write_config_file(
        "rules/shop/tenants.conf",
        b"rule nested {\n    response header add X-Order \"nested\"\n}\n",
    );
    world.write_config_file("rules/.draft.conf", b"rule draft {\n    respond 500\n}\n");
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let got = get("/", &[]);
    assert_eq!(got.status, 200, "the dot file is not included");
    let order: Vec<&str> = got
        .headers
        .iter()
        .filter(|(name, _)| name == "x-order")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(
        order,
        ["first", "nested", "twenty", "last"],
        "included rules stand where their include stood, in byte order"
    );
    let got = get("/admin", &["-H", "X-Forwarded-For: 203.0.113.9"]);
    assert_eq!(got.status, 403);
    let got = get("/admin", &["-H", "X-Forwarded-For: 10.1.2.3"]);
    assert_eq!(got.status, 200);
    // An error in an included file names that file, at validate.sh.
    world.write_config_file(
        "rules/20-tag.conf",
        b"rule tag {\n    response header add X-Order \"twenty\"\n    redirct 301 \"/\"\n}\n",
    );
    let out = run_script("validate.sh", &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("[rules/20-tag.conf:3:5]"),
        "{}",
        out.stderr
    );
    proxy.stop();
}

fn update_map_file(world: &World) {
    world.write_config(REDIRECT_MAP);
    world.write_config_file("redirects.csv", redirects_csv(100, "new"));
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_eq!(get("/old/42", &[]).header("location"), Some("/new/42"));
    // Only the map file changes: proxy.conf's bytes are the same.
    world.write_config_file("redirects.csv", redirects_csv(100, "newer"));
    let out = run_script("update.sh", &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(get("/old/42", &[]).header("location"), Some("/newer/42"));
    proxy.stop();
}

fn broken_map_file(world: &World) {
    world.write_config(REDIRECT_MAP);
    world.write_config_file("redirects.csv", redirects_csv(100, "new"));
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let mut proxy = Proxy::start();
    let mut broken = redirects_csv(100, "newer");
    broken.extend_from_slice(b"\r\n/old/7,/dup\r\n/stray\"quote,/x\r\n");
    world.write_config_file("redirects.csv", &broken);
    let out = run_script("update.sh", &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("[redirects.csv:104:7]"),
        "{}",
        out.stderr
    );
    assert!(proxy.alive());
    assert_eq!(
        get("/old/42", &[]).header("location"),
        Some("/new/42"),
        "the old rules are still served"
    );
    let out = run_script("validate.sh", &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    proxy.stop();
}
