//! `proxy-conf.md` §12–§13 at the real paths: response rules and file bodies
//! on the next hop's answers, on the proxy's own 502 and 504, through
//! `update.sh`, and on a 50 MiB download whose memory stays flat.

use crate::Case;
use crate::client::get;
use crate::logs::{ACCESS_LOG, only, read_json_log};
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::pattern::Pattern;
use crate::proxy::Proxy;
use crate::scripts::run_script;
use crate::world::World;

/// The response-phase cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "response_error_page_for_502_with_origin_down",
            error_page_502,
        ),
        Case::new("response_error_page_for_504", error_page_504),
        Case::new(
            "response_security_headers_on_502_and_504_not_on_400",
            headers_on_errors,
        ),
        Case::new("response_location_rewriting", location_rewriting),
        Case::new(
            "response_cache_headers_by_content_type_with_default",
            cache_by_type,
        ),
        Case::new("response_file_body_changed_by_update_sh", file_body_update),
        Case::long(
            "response_50mib_download_through_response_rules",
            large_download,
        ),
    ]
}

const DOWN_PAGE: &str = "<!doctype html>\n<title>Down</title>\n<h1>Back soon</h1>\n";

const ERROR_PAGES: &str = "rule hsts {\n    response header set Strict-Transport-Security \"max-age=63072000\"\n}\n\n\
rule friendly-errors on response {\n    when status in [502, 503, 504]\n    response header set Retry-After \"30\"\n    respond 503 file \"errors/down.html\"\n}\n";

fn assert_down_page(got: &crate::client::Curl) {
    assert_eq!(got.status, 503, "{:?}", got.headers);
    assert_eq!(got.text(), DOWN_PAGE);
    assert_eq!(got.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(got.header("retry-after"), Some("30"));
    assert_eq!(
        got.header("strict-transport-security"),
        Some("max-age=63072000"),
        "the request phase's edits are on the error page too"
    );
}

fn error_page_502(world: &World) {
    world.write_config_file("errors/down.html", DOWN_PAGE.as_bytes());
    world.write_config(ERROR_PAGES);
    let proxy = Proxy::start();
    assert_down_page(&get("/nobody-home", &[]));
    // The app's own 503 gets the page too; a 200 does not.
    let origin = Origin::start(world, "a", ORIGIN_A);
    assert_down_page(&get("/status/503", &[]));
    let fine = get("/fine", &[]);
    assert_eq!(fine.status, 200);
    assert_eq!(fine.header("x-origin"), Some("a"));
    assert_eq!(origin.requests().len(), 2);
    proxy.stop();
    let lines = read_json_log(ACCESS_LOG);
    let down = only(&lines, "uri", "/nobody-home");
    assert_eq!(down["status"], "503");
    assert_eq!(down["action"], "respond");
    assert_eq!(down["rules"], "hsts,friendly-errors");
    let app = only(&lines, "uri", "/status/503");
    assert_eq!(app["action"], "respond");
    assert!(
        app.get("upstream_ms")
            .is_some_and(|v| v.parse::<u64>().is_ok()),
        "the request went upstream: {app:?}"
    );
    let fine = only(&lines, "uri", "/fine");
    assert_eq!(
        (fine["action"].as_str(), fine["rules"].as_str()),
        ("forward", "hsts")
    );
}

fn error_page_504(world: &World) {
    world.write_config_file("errors/down.html", DOWN_PAGE.as_bytes());
    world.write_config(&format!(
        "settings {{\n    upstream_response_timeout 1s\n}}\n\n{ERROR_PAGES}"
    ));
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_down_page(&get("/slow/4000", &[]));
    assert!(origin.wait_started(1, std::time::Duration::from_secs(5)));
    assert_eq!(get("/fast", &[]).status, 200, "served on after the 504");
    proxy.stop();
    let lines = read_json_log(ACCESS_LOG);
    let slow = only(&lines, "uri", "/slow/4000");
    assert_eq!(
        (slow["status"].as_str(), slow["action"].as_str()),
        ("503", "respond")
    );
}

fn headers_on_errors(world: &World) {
    world.write_config(
        "settings {\n    upstream_response_timeout 1s\n}\n\n\
         rule security-headers {\n    response header set X-Frame-Options \"DENY\"\n    response header set X-Content-Type-Options \"nosniff\"\n    response header default Cache-Control \"no-store\"\n}\n\n\
         rule tag-errors on response {\n    when status >= 500\n    response header set X-Error \"{status}\"\n}\n",
    );
    let proxy = Proxy::start();
    let down = get("/down", &[]);
    assert_eq!(down.status, 502);
    assert_eq!(down.header("x-frame-options"), Some("DENY"));
    assert_eq!(down.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(down.header("cache-control"), Some("no-store"));
    assert_eq!(down.header("x-error"), Some("502"));
    assert!(
        down.header("content-type")
            .is_some_and(|v| v.starts_with("text/plain"))
    );
    let origin = Origin::start(world, "a", ORIGIN_A);
    let slow = get("/slow/4000", &[]);
    assert_eq!(slow.status, 504);
    assert_eq!(slow.header("x-frame-options"), Some("DENY"));
    assert_eq!(slow.header("x-error"), Some("504"));
    assert!(origin.wait_started(1, std::time::Duration::from_secs(5)));
    // A refusal before the rules ran gets neither.
    let refused = crate::client::raw_exchange(
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&refused).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 400"), "{text}");
    assert!(!text.contains("x-frame-options"), "{text}");
    assert!(!text.contains("x-error"), "{text}");
    proxy.stop();
}

fn location_rewriting(world: &World) {
    world.write_config(
        "rule https-locations on response {\n    when response_header(\"Location\") ~ \"^http://(?<rest>.*)$\"\n    response header set Location \"https://{rest}\"\n}\n",
    );
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let got = get("/redirect/next/page?x=1", &[]);
    assert_eq!(got.status, 302);
    assert_eq!(
        got.header("location"),
        Some("https://example.com/next/page")
    );
    assert_eq!(got.text(), "moved\n", "the app's body streams through");
    let plain = get("/fine", &[]);
    assert_eq!(plain.header("location"), None);
    proxy.stop();
    let lines = read_json_log(ACCESS_LOG);
    let moved = only(&lines, "uri", "/redirect/next/page?x=1");
    assert_eq!(moved["rules"], "https-locations");
    assert_eq!(moved["action"], "forward");
}

fn cache_by_type(world: &World) {
    world.write_config(
        "rule cache-images on response {\n    when status == 200 and content_type ^= \"image/\"\n    response header default Cache-Control \"public, max-age=86400\"\n}\n\n\
         rule html-no-cache on response {\n    when content_type == \"text/html\"\n    response header default Cache-Control \"no-cache\"\n}\n",
    );
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let image = get("/typed/image_png", &[]);
    assert_eq!(image.header("content-type"), Some("image/png"));
    assert_eq!(image.header("cache-control"), Some("public, max-age=86400"));
    let own = get("/typed-no-store/image_webp", &[]);
    assert_eq!(
        own.header("cache-control"),
        Some("no-store"),
        "default keeps the app's own"
    );
    let html = get("/typed/Text_HTML;%20charset=utf-8", &[]);
    assert_eq!(html.header("cache-control"), Some("no-cache"));
    let css = get("/typed/text_css", &[]);
    assert_eq!(css.header("cache-control"), None);
    let missing = get("/status/404", &[]);
    assert_eq!(missing.header("cache-control"), None);
    proxy.stop();
}

fn file_body_update(world: &World) {
    world.write_config_file("maintenance.html", b"<h1>version 1</h1>\n");
    world.write_config(
        "rule maintenance {\n    when path ^= \"/checkout\"\n    respond 503 file \"maintenance.html\"\n}\n",
    );
    let proxy = Proxy::start();
    let first = get("/checkout", &[]);
    assert_eq!(
        (first.status, first.text().as_str()),
        (503, "<h1>version 1</h1>\n")
    );
    assert_eq!(
        first.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    // Only the page changes: update.sh must still see a new config and
    // confirm it (the hash covers file bodies).
    world.write_config_file("maintenance.html", b"<h1>version 2</h1>\n");
    let out = run_script("update.sh", &[]);
    assert_eq!(out.code, Some(0), "update.sh: {out:?}");
    let second = get("/checkout", &[]);
    assert_eq!(
        second.text(),
        "<h1>version 2</h1>\n",
        "the changed page is served after update.sh"
    );
    // A missing page is refused and the old one stays.
    std::fs::remove_file(crate::namespace::config_source().join("maintenance.html"))
        .expect("remove the page");
    let out = run_script("update.sh", &[]);
    assert_eq!(out.code, Some(1), "update.sh with a missing page: {out:?}");
    assert!(out.stderr.contains("maintenance.html"), "{}", out.stderr);
    assert_eq!(get("/checkout", &[]).text(), "<h1>version 2</h1>\n");
    proxy.stop();
}

const FIFTY_MIB: u64 = 50 * 1024 * 1024;

fn large_download(world: &World) {
    // The bench's shape: ten response rules that read the head only.
    let mut config = String::new();
    for i in 0..9 {
        config.push_str(&format!(
            "rule r{i} on response {{\n    when status == 200 and response_header(\"X-Origin\") == \"a\" and path ^= \"/download/\"\n    response header set X-Rule-{i} \"{{status}}\"\n}}\n\n"
        ));
    }
    config.push_str(
        "rule deny on response {\n    when arg(\"deny\") == \"1\" and status == 200\n    respond 403 \"denied\\n\"\n}\n",
    );
    world.write_config(&config);
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let baseline = proxy.status_kib("VmHWM");
    let down = get(&format!("/download/{FIFTY_MIB}"), &[]);
    assert_eq!(down.status, 200, "{}", down.stderr);
    assert_eq!(down.body.len() as u64, FIFTY_MIB);
    assert_eq!(down.header("x-rule-8"), Some("200"));
    let got_sha = {
        use sha2::{Digest, Sha256};
        crate::pattern::hex(&Sha256::digest(&down.body))
    };
    assert_eq!(
        got_sha,
        Pattern::sha256(FIFTY_MIB, FIFTY_MIB),
        "the download arrived changed"
    );
    // Replaced: the 50 MiB body is dropped unread, the answer is immediate.
    let started = std::time::Instant::now();
    let denied = get(&format!("/download/{FIFTY_MIB}?deny=1"), &[]);
    assert_eq!((denied.status, denied.text().as_str()), (403, "denied\n"));
    let replaced_in = started.elapsed();
    let peak = proxy.status_kib("VmHWM");
    println!(
        "    proxy peak RSS (VmHWM) through 10 response rules: {baseline} KiB at start, {peak} KiB after a 50 MiB download and a replaced one (replaced in {replaced_in:?})"
    );
    assert!(
        peak < 64 * 1024,
        "the proxy's peak RSS was {peak} KiB (limit 64 MiB): bodies are being buffered"
    );
    // The connection that carried the unread body is not reused: the next
    // request is served on a fresh one, correctly.
    let after = get("/after", &[]);
    assert_eq!((after.status, after.header("x-origin")), (200, Some("a")));
    assert!(origin.requests().len() >= 2);
    proxy.stop();
    let lines = read_json_log(ACCESS_LOG);
    let denied = only(&lines, "uri", &format!("/download/{FIFTY_MIB}?deny=1"));
    assert_eq!(
        (denied["status"].as_str(), denied["action"].as_str()),
        ("403", "respond")
    );
    assert_eq!(denied["rules"], "r0,r1,r2,r3,r4,r5,r6,r7,r8,deny");
}
