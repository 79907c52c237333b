//! Contract §4 and spec §16 through the real scripts: `validate.sh` runs the
//! config's `*.test` files and refuses a push whose test fails; `update.sh`
//! (reload) never reads them, so a broken test cannot change what is served.

use crate::Case;
use crate::client::get;
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::proxy::Proxy;
use crate::scripts::{generation_config, run_script};
use crate::world::World;

/// The shipped-tests cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "validate_sh_refuses_a_config_whose_test_fails",
            validate_refuses_failing_test,
        ),
        Case::new("update_sh_ignores_test_files", update_ignores_tests),
    ]
}

const CONFIG: &str = "rule old-blog {\n    when path ~ \"^/blog/(?<year>[0-9]{4})/([^/]+)/?$\"\n    redirect 308 \"/articles/{year}/{2}\"\n}\n";

const PASSING: &str = "test \"old blog posts move\" {\n    request GET \"https://example.test/blog/2019/hello\"\n    expect redirect 308 \"/articles/2019/hello\"\n    expect rules [\"old-blog\"]\n}\n";

const FAILING: &str = "test \"old blog posts move\" {\n    request GET \"https://example.test/blog/2019/hello\"\n    expect redirect 301 \"/articles/2019/hello\"\n}\n";

const BROKEN: &str = "test \"half written\" {\n    request GET \"/\"\n    expect stauts 200\n";

fn validate_refuses_failing_test(world: &World) {
    world.write_config(CONFIG);
    world.write_config_file("redirects.test", PASSING);
    let out = run_script("validate.sh", &[]);
    assert_eq!(out.code, Some(0), "passing tests: {out:?}");
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("", ""),
        "silent"
    );

    world.write_config_file("redirects.test", FAILING);
    let out = run_script("validate.sh", &[]);
    assert_eq!(
        out.code,
        Some(1),
        "a failing test refuses the push: {out:?}"
    );
    assert_eq!(out.stdout, "");
    for wanted in [
        "switchyard::test_failed",
        "[redirects.test:3:5]",
        "expected a redirect 301 to",
        "got a redirect 308 to",
        "rules that fired: old-blog",
        "^",
    ] {
        assert!(out.stderr.contains(wanted), "{wanted}:\n{}", out.stderr);
    }
    assert!(!out.stderr.contains('\x1b'), "no colour:\n{}", out.stderr);

    world.write_config_file("redirects.test", BROKEN);
    let out = run_script("validate.sh", &[]);
    assert_eq!(out.code, Some(1), "a broken test file: {out:?}");
    assert!(out.stderr.contains("redirects.test:3:"), "{}", out.stderr);
}

fn update_ignores_tests(world: &World) {
    world.write_config(&generation_config(1));
    world.write_config_file("site.test", BROKEN);
    world.write_config_file("more.test", FAILING);
    let out = run_script("update.sh", &[]);
    assert_eq!(out.code, Some(0), "no server, broken tests: {out:?}");
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));

    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_eq!(get("/gen", &[]).header("x-generation"), Some("1"));
    world.write_config(&generation_config(2));
    let out = run_script("update.sh", &[]);
    assert_eq!(
        out.code,
        Some(0),
        "reload with broken tests beside: {out:?}"
    );
    assert_eq!(
        get("/gen", &[]).header("x-generation"),
        Some("2"),
        "the new rules are served, whatever the tests say"
    );
    // validate.sh still refuses the same directory.
    assert_eq!(run_script("validate.sh", &[]).code, Some(1));
    proxy.stop();
}
