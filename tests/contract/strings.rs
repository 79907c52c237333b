//! `proxy-conf.md` §15 at run time, at the real paths: functions, query edits,
//! the fragment order of a redirect and `stop`, through the real server.

use crate::Case;
use crate::client::get;
use crate::logs::{ACCESS_LOG, read_json_log};
use crate::rules::{last_uri, serve};
use crate::world::World;

/// The string, query and `stop` cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new("strings_tracking_parameters_stripped_upstream", tracking),
        Case::new("strings_lower_cased_country_redirect", country),
        Case::new("strings_stop_ends_the_rules_and_forwards", stop),
        Case::new("strings_query_goes_before_the_fragment", fragment),
    ]
}

fn tracking(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule strip-tracking {\n    query remove \"utm_*\" \"fbclid\" \"gclid\"\n}\n\n\
         rule search {\n    when path == \"/search\"\n    query set \"page\" \"1\"\n    query sort\n}\n\n\
         rule tag {\n    when path == \"/tag\"\n    query add \"from\" \"{lower(header.X-Site)} x\"\n}\n",
    );
    let got = get(
        "/shop?utm_source=news&id=7&fbclid=abc&q=a%2fb%20c&utm_medium=mail&flag",
        &[],
    );
    assert_eq!(got.status, 200);
    assert_eq!(
        last_uri(&origin),
        "/shop?id=7&q=a%2Fb%20c&flag",
        "tracking parameters go; the rest keep their (normalized) bytes and order"
    );
    get("/shop?utm_source=x", &[]);
    assert_eq!(last_uri(&origin), "/shop", "an empty query sends no `?`");
    get("/shop?a=1", &[]);
    assert_eq!(last_uri(&origin), "/shop?a=1", "untouched: sent as it came");
    get("/search?q=x&page=4&b=2&page=5", &[]);
    assert_eq!(last_uri(&origin), "/search?b=2&page=1&q=x");
    get("/tag", &["-H", "X-Site: Shop.Example"]);
    assert_eq!(last_uri(&origin), "/tag?from=shop.example%20x");
    proxy.stop();
}

fn country(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule locale {\n    when path == \"/\" and exists header(\"CF-IPCountry\")\n    \
         redirect 302 \"/locales/{lower(header.CF-IPCountry)}.json\"\n}\n\n\
         rule admin {\n    when lower(url_decode(path)) ^= \"/admin\"\n    respond 403\n}\n",
    );
    let got = get("/?utm_source=x", &["-H", "CF-IPCountry: DE"]);
    assert_eq!(got.status, 302);
    assert_eq!(
        got.header("location"),
        Some("/locales/de.json?utm_source=x")
    );
    assert_eq!(get("/", &[]).status, 200, "no country header: forwarded");
    assert_eq!(get("/ADMIN/users", &[]).status, 403);
    assert_eq!(get("/%41dmin", &[]).status, 403);
    assert_eq!(get("/public", &[]).status, 200);
    assert_eq!(origin.requests().len(), 2);
    proxy.stop();
}

fn stop(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule spa {\n    when path ^= \"/app/\"\n    request header set X-Spa \"1\"\n    \
         rewrite \"/index.html\"\n    stop\n}\n\n\
         rule not-found {\n    when path ^= \"/app/\"\n    respond 404\n}\n\n\
         rule everyone {\n    response header set X-Later \"1\"\n}\n",
    );
    let got = get("/app/settings?tab=2", &[]);
    assert_eq!(got.status, 200, "stop: the later respond never runs");
    assert_eq!(got.header("x-later"), None, "no later rule applies");
    let seen = origin.requests().pop().expect("forwarded");
    assert_eq!(seen.uri, "/index.html?tab=2");
    assert_eq!(
        seen.header("x-spa"),
        Some("1"),
        "the edits made so far go upstream"
    );
    assert_eq!(get("/other", &[]).header("x-later"), Some("1"));
    proxy.stop();
    let lines = read_json_log(ACCESS_LOG);
    let line = lines
        .iter()
        .find(|l| l.get("uri").is_some_and(|u| u.starts_with("/app/")))
        .expect("a line for the stopped request");
    assert_eq!(line["rules"], "spa");
    assert_eq!(line["status"], "200");
}

fn fragment(world: &World) {
    let (_origin, proxy) = serve(
        world,
        "rule moved {\n    when path == \"/old\"\n    redirect 301 \"/page#top\"\n}\n\n\
         rule edited {\n    when path == \"/edit\"\n    query set \"ref\" \"old\"\n    redirect 301 \"/page#top\"\n}\n",
    );
    let got = get("/old?a=1", &[]);
    assert_eq!(got.header("location"), Some("/page?a=1#top"));
    assert_eq!(get("/old", &[]).header("location"), Some("/page#top"));
    assert_eq!(
        get("/edit", &[]).header("location"),
        Some("/page?ref=old#top"),
        "the outgoing query is carried over, also when the request had none"
    );
    proxy.stop();
}
