//! `proxy-conf.md` §4–§9 at run time, at the real paths: each case writes a
//! `proxy.conf` into `/opt/proxy_config`, starts the real server and checks
//! what the client gets and what reaches the next hop.

use crate::Case;
use crate::client::{Conn, get};
use crate::logs::{ACCESS_LOG, read_json_log};
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::proxy::Proxy;
use crate::world::World;

/// The rule cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "rules_scheme_redirect_and_query_carry_over",
            scheme_redirect,
        ),
        Case::new("rules_regex_captures_numbered_and_named", captures),
        Case::new("rules_cookie_arg_header_fields", cookie_arg_header),
        Case::new("rules_exists", exists),
        Case::new("rules_in_and_not_in", in_not_in),
        Case::new("rules_client_ip_cidr_from_true_client_ip_and_xff", cidr),
        Case::new("rules_operator_precedence", precedence),
        Case::new("rules_accumulate_and_terminal_stops", terminal_stop),
        Case::new("rules_normalization_before_rules", normalization),
        Case::new("rules_host_match_and_override", host_override),
        Case::new("rules_rewrite_and_query", rewrite_query),
        Case::new("rules_header_actions_both_ways", header_actions),
        Case::new("rules_crlf_in_expanded_header_is_skipped", crlf_skipped),
        Case::new("rules_string_operators", string_operators),
        Case::new("rules_template_fields", template_fields),
        Case::new("rules_generated_statuses_and_bodies", generated_statuses),
        Case::new("rules_spec_example_end_to_end", spec_example),
    ]
}

/// Writes the config, starts origin A and the proxy in front of it.
pub fn serve(world: &World, config: &str) -> (Origin, Proxy) {
    world.write_config(config);
    let origin = Origin::start(world, "a", ORIGIN_A);
    (origin, Proxy::start())
}

/// The target of the last request the origin received.
pub fn last_uri(origin: &Origin) -> String {
    origin.requests().pop().map(|s| s.uri).unwrap_or_default()
}

fn scheme_redirect(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule force-https {\n    when scheme == \"http\"\n    redirect 301 \"https://{host}{uri}\"\n}\n",
    );
    let got = get("/page?a=1&b=2", &["-H", "Host: Shop.Example:8080"]);
    assert_eq!(got.status, 301);
    assert_eq!(
        got.header("location"),
        Some("https://shop.example/page?a=1&b=2")
    );
    assert_eq!(got.header("x-origin"), None);
    for proto in ["https", "HTTPS"] {
        let got = get("/page", &["-H", &format!("X-Forwarded-Proto: {proto}")]);
        assert_eq!(got.status, 200, "X-Forwarded-Proto: {proto} is https");
    }
    let got = get("/page", &["-H", "X-Forwarded-Proto: ftp"]);
    assert_eq!(got.status, 301, "anything but https is http");
    assert_eq!(
        origin.requests().len(),
        2,
        "redirected requests never go upstream"
    );
    proxy.stop();
    let lines = read_json_log(ACCESS_LOG);
    let redirect = lines
        .iter()
        .find(|l| l["status"] == "301")
        .expect("a redirect line");
    assert_eq!(redirect["action"], "redirect");
    assert_eq!(redirect["rules"], "force-https");
}

fn captures(world: &World) {
    let (_origin, proxy) = serve(
        world,
        "rule old-blog {\n    when path ~ \"^/blog/(?<year>[0-9]{4})/([^/]+)/?$\"\n    redirect 308 \"/articles/{year}/{2}\"\n}\n\n\
         rule whole {\n    when path ~ \"^/w/(x+)(y)?$\"\n    respond 200 \"0={0} 1={1} 2=[{2}]\"\n}\n",
    );
    let got = get("/blog/2024/hello-world/", &[]);
    assert_eq!(got.status, 308);
    assert_eq!(got.header("location"), Some("/articles/2024/hello-world"));
    let got = get("/blog/2024/hello-world?ref=feed", &[]);
    assert_eq!(
        got.header("location"),
        Some("/articles/2024/hello-world?ref=feed")
    );
    assert_eq!(get("/blog/24/nope", &[]).status, 200, "no match, forwarded");
    let got = get("/w/xxx", &[]);
    assert_eq!(got.status, 200);
    assert_eq!(
        got.text(),
        "0=/w/xxx 1=xxx 2=[]",
        "a group that took no part expands to \"\""
    );
    assert!(
        got.header("content-type")
            .is_some_and(|v| v.starts_with("text/plain"))
    );
    proxy.stop();
}

fn cookie_arg_header(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule by-cookie {\n    when cookie(\"session\") == \"abc\"\n    respond 200 \"cookie {cookie.session}\"\n}\n\n\
         rule by-arg {\n    when arg(\"lang\") == \"fr fr\"\n    request header set X-Lang \"{arg.lang}\"\n}\n\n\
         rule by-header {\n    when header(\"X-Debug\") == \"1, 2\"\n    response header set X-Debug-Seen \"{header.X-Debug}\"\n}\n",
    );
    let got = get("/c", &["-H", "Cookie: other=1; session=abc; x=y"]);
    assert_eq!((got.status, got.text().as_str()), (200, "cookie abc"));
    assert_eq!(
        get("/c", &["-H", "Cookie: session=abcd"]).header("x-origin"),
        Some("a")
    );
    let got = get("/l?x=1&lang=fr%20fr&lang=de", &[]);
    assert_eq!(got.status, 200);
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(
        seen.header("x-lang"),
        Some("fr fr"),
        "arg() is percent-decoded and the first value"
    );
    let got = get("/h", &["-H", "X-Debug: 1", "-H", "X-Debug: 2"]);
    assert_eq!(
        got.header("x-debug-seen"),
        Some("1, 2"),
        "several lines join with \", \""
    );
    proxy.stop();
}

fn exists(world: &World) {
    let (_origin, proxy) = serve(
        world,
        "rule probe {\n    when exists header(\"X-Probe\")\n    respond 204\n}\n\n\
         rule flag {\n    when exists arg(\"flag\")\n    respond 200 \"flag\"\n}\n\n\
         rule crumb {\n    when exists cookie(\"crumb\")\n    respond 200 \"crumb\"\n}\n",
    );
    assert_eq!(
        get("/", &["-H", "X-Probe;"]).status,
        204,
        "an empty header exists"
    );
    assert_eq!(get("/?flag", &[]).text(), "flag");
    assert_eq!(get("/?flag=", &[]).text(), "flag");
    assert_eq!(get("/?flags=1", &[]).header("x-origin"), Some("a"));
    assert_eq!(get("/", &["-H", "Cookie: crumb="]).text(), "crumb");
    assert_eq!(get("/", &[]).header("x-origin"), Some("a"));
    proxy.stop();
}

fn in_not_in(world: &World) {
    let (_origin, proxy) = serve(
        world,
        "rule reads {\n    when method in [\"GET\", \"HEAD\",]\n    response header set X-Read \"yes\"\n}\n\n\
         rule writes {\n    when method not in [\"GET\", \"HEAD\"]\n    respond 405 \"read only\\n\"\n}\n",
    );
    assert_eq!(get("/", &[]).header("x-read"), Some("yes"));
    let got = get("/", &["-X", "POST", "--data", "x"]);
    assert_eq!((got.status, got.text().as_str()), (405, "read only\n"));
    assert_eq!(
        get("/", &["-X", "get"]).status,
        405,
        "exact comparison: method as sent"
    );
    proxy.stop();
}

fn cidr(world: &World) {
    let (_origin, proxy) = serve(
        world,
        "rule admin-only-inside {\n    when path ^= \"/admin\" and not client_ip in [\"10.0.0.0/8\", \"192.168.0.0/16\", \"2001:db8::/32\", \"203.0.113.9\"]\n    respond 403 \"Forbidden\\n\"\n}\n",
    );
    let cases: [(&[&str], u16); 9] = [
        (&[], 403),
        (&["-H", "True-Client-IP: 10.1.2.3"], 200),
        (
            &[
                "-H",
                "True-Client-IP: 8.8.8.8",
                "-H",
                "X-Forwarded-For: 10.0.0.1",
            ],
            403,
        ),
        (
            &[
                "-H",
                "True-Client-IP: not-an-ip",
                "-H",
                "X-Forwarded-For: 10.0.0.1",
            ],
            200,
        ),
        (&["-H", "X-Forwarded-For: 192.168.4.4, 8.8.8.8"], 200),
        (&["-H", "X-Forwarded-For: 8.8.8.8, 192.168.4.4"], 403),
        (&["-H", "X-Forwarded-For: garbage, 192.168.4.4"], 200),
        (&["-H", "True-Client-IP: 2001:db8::1"], 200),
        (&["-H", "X-Forwarded-For: 203.0.113.9"], 200),
    ];
    for (args, status) in cases {
        assert_eq!(get("/admin/panel", args).status, status, "{args:?}");
    }
    proxy.stop();
}

fn precedence(world: &World) {
    let (_origin, proxy) = serve(
        world,
        "rule and-binds-tighter {\n    when path == \"/p\" or path == \"/q\" and method == \"POST\"\n    response header add X-Fired \"and\"\n}\n\n\
         rule not-binds-tightest {\n    when not path == \"/p\" and method == \"GET\"\n    response header add X-Fired \"not\"\n}\n\n\
         rule parens {\n    when (path == \"/p\" or path == \"/q\") and method == \"POST\"\n    response header add X-Fired \"parens\"\n}\n",
    );
    let fired = |path: &str, method: &str| {
        let mut args = vec!["-X", method];
        if method == "POST" {
            args.extend(["--data", "x"]);
        }
        let got = get(path, &args);
        assert_eq!(got.status, 200);
        got.headers
            .iter()
            .filter(|(n, _)| n == "x-fired")
            .flat_map(|(_, v)| v.split(", ").map(str::to_owned).collect::<Vec<_>>())
            .collect::<Vec<String>>()
    };
    assert_eq!(fired("/p", "GET"), ["and"]);
    assert_eq!(fired("/q", "GET"), ["not"]);
    assert_eq!(fired("/q", "POST"), ["and", "parens"]);
    assert_eq!(fired("/p", "POST"), ["and", "parens"]);
    assert_eq!(fired("/r", "GET"), ["not"]);
    proxy.stop();
}

fn terminal_stop(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule first {\n    response header set X-A \"1\"\n    response header set X-Over \"first\"\n}\n\n\
         rule second {\n    when path ^= \"/deny\"\n    response header set X-B \"2\"\n    response header set X-Over \"second\"\n    respond 403 \"no\\n\"\n}\n\n\
         rule third {\n    response header set X-C \"3\"\n    redirect 302 \"/never\"\n}\n\n\
         rule fourth {\n    response header set X-D \"4\"\n}\n",
    );
    let got = get("/deny/x", &[]);
    assert_eq!(got.status, 403);
    assert_eq!(got.text(), "no\n");
    assert_eq!(
        got.header("x-a"),
        Some("1"),
        "headers accumulated before the terminal rule"
    );
    assert_eq!(got.header("x-b"), Some("2"), "and the terminal rule's own");
    assert_eq!(
        got.header("x-over"),
        Some("second"),
        "a later set replaces an earlier one"
    );
    assert_eq!(
        got.header("x-c"),
        None,
        "no rule after the terminal one runs"
    );
    let got = get("/other", &[]);
    assert_eq!(got.status, 302);
    assert_eq!(got.header("location"), Some("/never"));
    assert_eq!(got.header("x-a"), Some("1"));
    assert_eq!(got.header("x-c"), Some("3"));
    assert_eq!(got.header("x-d"), None);
    assert_eq!(origin.requests().len(), 0);
    proxy.stop();
    let lines = read_json_log(ACCESS_LOG);
    let denied = lines
        .iter()
        .find(|l| l["status"] == "403")
        .expect("403 line");
    assert_eq!(
        (denied["action"].as_str(), denied["rules"].as_str()),
        ("respond", "first,second")
    );
    let redirected = lines
        .iter()
        .find(|l| l["status"] == "302")
        .expect("302 line");
    assert_eq!(
        (redirected["action"].as_str(), redirected["rules"].as_str()),
        ("redirect", "first,third")
    );
}

fn normalization(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule admin {\n    when path ^= \"/admin\"\n    respond 403 \"Forbidden\\n\"\n}\n\n\
         rule encoded-slash {\n    when path == \"/a%2Fb\"\n    response header set X-Encoded \"kept\"\n}\n",
    );
    for target in ["/%61dmin", "/%61%64min/x", "/x/../admin", "/./admin"] {
        let got = get(target, &["--path-as-is"]);
        assert_eq!(got.status, 403, "{target} normalizes to /admin…");
    }
    let got = get("/a%2fb", &["--path-as-is"]);
    assert_eq!(
        got.header("x-encoded"),
        Some("kept"),
        "%2f stays encoded, hex upper-cased"
    );
    assert_eq!(
        last_uri(&origin),
        "/a%2Fb",
        "the normalized target is forwarded"
    );
    assert_eq!(get("/x/./y/../%7Ez", &["--path-as-is"]).status, 200);
    assert_eq!(last_uri(&origin), "/x/~z");
    // Absolute-form: its authority becomes the Host, forwarded in origin-form.
    let mut conn = Conn::open().expect("connect");
    let got = conn
        .roundtrip("GET http://absolute.test/abs?q=1 HTTP/1.1\r\nHost: ignored.test\r\n\r\n")
        .expect("response");
    assert_eq!(got.status, 200);
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(seen.uri, "/abs?q=1");
    assert_eq!(seen.header("host"), Some("absolute.test"));
    proxy.stop();
}

fn host_override(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule match-host {\n    when host == \"Shop.EXAMPLE\"\n    request header set Host \"backend.internal\"\n    request header set X-Original-Host \"{host}\"\n}\n",
    );
    assert_eq!(get("/", &["-H", "Host: SHOP.example:8080"]).status, 200);
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(seen.header("host"), Some("backend.internal"));
    assert_eq!(seen.header("x-original-host"), Some("shop.example"));
    assert_eq!(get("/", &["-H", "Host: other.example"]).status, 200);
    assert_eq!(
        origin.requests().pop().expect("seen").header("host"),
        Some("other.example")
    );
    proxy.stop();
}

fn rewrite_query(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule api {\n    when path ^= \"/api/\"\n    rewrite \"/v2{path}\"\n}\n\n\
         rule drop-query {\n    when path == \"/clean\"\n    rewrite \"/cleaned?\"\n}\n\n\
         rule own-query {\n    when path == \"/own\"\n    redirect 302 \"/target?x=1\"\n}\n\n\
         rule last-rewrite-wins {\n    when path == \"/twice\"\n    rewrite \"/first\"\n    rewrite \"/second\"\n}\n\n\
         rule debug {\n    when query *= \"debug=1\"\n    response header set X-Debug \"on\"\n}\n\n\
         rule query-field {\n    when path == \"/q\"\n    respond 200 \"[{query}] [{uri}]\"\n}\n",
    );
    assert_eq!(get("/api/users?page=2", &[]).status, 200);
    assert_eq!(
        last_uri(&origin),
        "/v2/api/users?page=2",
        "rewrite carries the query over"
    );
    get("/clean?secret=1", &[]);
    assert_eq!(
        last_uri(&origin),
        "/cleaned",
        "a lone trailing ? drops the query and is not sent"
    );
    let got = get("/own?y=2", &[]);
    assert_eq!(
        got.header("location"),
        Some("/target?x=1"),
        "a target with ? keeps its own query"
    );
    get("/twice", &[]);
    assert_eq!(last_uri(&origin), "/second");
    assert_eq!(get("/x?a=1&debug=1", &[]).header("x-debug"), Some("on"));
    assert_eq!(get("/q?a=b", &[]).text(), "[a=b] [/q?a=b]");
    assert_eq!(get("/q", &[]).text(), "[] [/q]");
    proxy.stop();
}

fn header_actions(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule request-side {\n    request header set X-Set \"set\"\n    request header add X-Multi \"added\"\n    request header remove X-Secret\n    request header set X-Gone \"x\"\n    request header remove X-Gone\n}\n\n\
         rule response-side {\n    response header remove X-Origin\n    response header add X-Extra \"one\"\n    response header add X-Extra \"two\"\n    response header set X-Body-Len \"overridden\"\n}\n",
    );
    let got = get(
        "/h",
        &[
            "-H",
            "X-Set: original",
            "-H",
            "X-Multi: client",
            "-H",
            "X-Secret: s",
            "-H",
            "X-Gone: client",
        ],
    );
    assert_eq!(got.status, 200);
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(seen.all("x-set"), ["set"], "set replaces every line");
    assert_eq!(
        seen.all("x-multi").join(", "),
        "client, added",
        "add appends"
    );
    assert!(seen.all("x-secret").is_empty());
    assert!(seen.all("x-gone").is_empty(), "remove after set removes it");
    assert_eq!(got.header("x-origin"), None, "response header remove");
    let extra: Vec<&str> = got
        .headers
        .iter()
        .filter(|(n, _)| n == "x-extra")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(extra.join(", "), "one, two");
    assert_eq!(got.header("x-body-len"), Some("overridden"));
    proxy.stop();
}

fn crlf_skipped(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule echo {\n    request header set X-Echo \"{arg.v}\"\n    response header set X-Echo-Back \"{arg.v}\"\n}\n",
    );
    let got = get("/?v=fine", &[]);
    assert_eq!(got.header("x-echo-back"), Some("fine"));
    assert_eq!(
        origin.requests().pop().expect("seen").header("x-echo"),
        Some("fine")
    );
    let got = get("/?v=bad%0D%0AInjected:%20yes", &[]);
    assert_eq!(got.status, 200, "the request still goes through");
    assert_eq!(got.header("x-echo-back"), None);
    assert_eq!(got.header("injected"), None);
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(
        seen.header("x-echo"),
        None,
        "a value with CR/LF is not sent"
    );
    assert_eq!(seen.header("injected"), None);
    proxy.stop();
    let error_log = std::fs::read_to_string(crate::logs::ERROR_LOG).unwrap_or_default();
    assert!(
        error_log.to_ascii_lowercase().contains("warn"),
        "a warning in error.log:\n{error_log}"
    );
}

fn string_operators(world: &World) {
    let (_origin, proxy) = serve(
        world,
        "rule starts {\n    when path ^= \"/s\"\n    response header add X-Op \"starts\"\n}\n\n\
         rule ends {\n    when path $= \".png\"\n    response header add X-Op \"ends\"\n}\n\n\
         rule contains {\n    when path *= \"mid\"\n    response header add X-Op \"contains\"\n}\n\n\
         rule not-equal {\n    when method != \"GET\"\n    response header add X-Op \"ne\"\n}\n\n\
         rule no-match {\n    when path !~ \"(?i)^/S\"\n    response header add X-Op \"nomatch\"\n}\n",
    );
    let ops = |path: &str, args: &[&str]| -> String {
        let got = get(path, args);
        got.headers
            .iter()
            .filter(|(n, _)| n == "x-op")
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    assert_eq!(ops("/start/mid/x.png", &[]), "starts, ends, contains");
    assert_eq!(ops("/other.png", &["-X", "DELETE"]), "ends, ne, nomatch");
    assert_eq!(ops("/SMALL", &[]), "");
    proxy.stop();
}

fn template_fields(world: &World) {
    let (_origin, proxy) = serve(
        world,
        "rule show {\n    when path ^= \"/show\"\n    respond 200 \"{scheme}|{host}|{method}|{path}|{query}|{uri}|{client_ip}|{header.X-A}|{cookie.c}|{arg.a}|{{literal}}\"\n}\n",
    );
    let got = get(
        "/show/%7Ex?a=%41b&z=1",
        &[
            "-H",
            "Host: Tpl.Example:81",
            "-H",
            "X-A: hdr",
            "-H",
            "Cookie: c=ck",
            "-H",
            "X-Forwarded-Proto: https",
            "-H",
            "X-Forwarded-For: 192.0.2.1",
        ],
    );
    assert_eq!(got.status, 200);
    assert_eq!(
        got.text(),
        "https|tpl.example|GET|/show/~x|a=Ab&z=1|/show/~x?a=Ab&z=1|192.0.2.1|hdr|ck|Ab|{literal}"
    );
    proxy.stop();
}

fn generated_statuses(world: &World) {
    let (origin, proxy) = serve(
        world,
        "rule see-other {\n    when path == \"/303\"\n    redirect 303 \"/done\"\n}\n\n\
         rule temporary {\n    when path == \"/307\"\n    redirect 307 \"/again\"\n}\n\n\
         rule unavailable {\n    when path == \"/503\"\n    respond 503 \"maintenance {method}\\n\"\n}\n\n\
         rule empty {\n    when path == \"/empty\"\n    respond 200\n}\n",
    );
    let got = get("/303", &["-X", "POST", "--data", "x"]);
    assert_eq!((got.status, got.header("location")), (303, Some("/done")));
    let got = get("/307?k=v", &[]);
    assert_eq!(
        (got.status, got.header("location")),
        (307, Some("/again?k=v"))
    );
    let got = get("/503", &["-X", "PUT", "--data", "x"]);
    assert_eq!(
        (got.status, got.text().as_str()),
        (503, "maintenance PUT\n")
    );
    assert_eq!(
        got.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(got.header("x-origin"), None);
    let got = get("/empty", &[]);
    assert_eq!((got.status, got.body.len()), (200, 0));
    assert_eq!(
        got.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        origin.requests().len(),
        0,
        "generated responses never go upstream"
    );
    proxy.stop();
    let lines = read_json_log(ACCESS_LOG);
    assert_eq!(lines.len(), 4);
    let unavailable = lines
        .iter()
        .find(|l| l["status"] == "503")
        .expect("503 line");
    assert_eq!(
        (
            unavailable["action"].as_str(),
            unavailable["rules"].as_str()
        ),
        ("respond", "unavailable")
    );
    assert!(
        unavailable.get("upstream_ms").is_none_or(|v| v == "-"),
        "nothing went upstream: {unavailable:?}"
    );
}

/// The complete example of `proxy-conf.md` §1, verbatim (the fixture the
/// diagnostics suite also checks).
const SPEC_EXAMPLE: &str = include_str!("../fixtures/valid/spec_example.conf");

fn spec_example(world: &World) {
    let (origin, proxy) = serve(world, SPEC_EXAMPLE);
    let https = [
        "-H",
        "X-Forwarded-Proto: https",
        "-H",
        "Host: www.example.com",
    ];
    let got = get("/x?y=1", &["-H", "Host: www.example.com"]);
    assert_eq!(
        (got.status, got.header("location")),
        (301, Some("https://www.example.com/x?y=1"))
    );
    assert_eq!(got.header("strict-transport-security"), None);
    assert_eq!(
        got.header("x-content-type-options"),
        None,
        "force-https stops before security-headers"
    );
    let got = get("/page", &https);
    assert_eq!(got.status, 200);
    assert_eq!(
        got.header("strict-transport-security"),
        Some("max-age=63072000; includeSubDomains")
    );
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(got.header("server"), None);
    let got = get("/blog/2023/my-post", &https);
    assert_eq!(
        (got.status, got.header("location")),
        (308, Some("/articles/2023/my-post"))
    );
    assert_eq!(
        got.header("x-content-type-options"),
        Some("nosniff"),
        "accumulated headers on a redirect"
    );
    assert_eq!(get("/api/users?id=7", &https).status, 200);
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(seen.uri, "/v2/api/users?id=7");
    assert_eq!(seen.header("x-api-version"), Some("2"));
    let mut post = https.to_vec();
    post.extend(["-X", "POST", "--data", "x"]);
    assert_eq!(get("/api/users", &post).status, 200);
    assert_eq!(
        origin.requests().pop().expect("seen").uri,
        "/api/users",
        "POST is not rewritten"
    );
    let got = get("/admin", &https);
    assert_eq!((got.status, got.text().as_str()), (403, "Forbidden\n"));
    let mut inside = https.to_vec();
    inside.extend(["-H", "True-Client-IP: 192.168.1.20"]);
    assert_eq!(get("/admin", &inside).status, 200);
    proxy.stop();
}
