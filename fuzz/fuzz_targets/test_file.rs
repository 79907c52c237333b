//! Fuzzes the `.test` file front end and the run: any bytes through reading,
//! parsing, checking, running against a small config, rendering the
//! diagnostics and `switchyard test`'s text must end in tests or
//! diagnostics, never a panic, a stack overflow or a hang.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use switchyard::config::{CONFIG_FILE, compile_source};
use switchyard::rules::ServedRules;
use switchyard::suite::{self, Suite, TestSource};

/// A config with a rule of every kind, so tests fire, miss and name rules.
const CONFIG: &str = r#"
rule force-https {
    when scheme == "http" and not path ^= "/health"
    redirect 301 "https://{host}{uri}"
}
rule old-blog {
    when path ~ "^/blog/(?<year>[0-9]{4})/([^/]+)/?$"
    redirect 308 "/articles/{year}/{2}"
}
rule api {
    when path ^= "/api/" and method in ["GET", "HEAD"]
    request header set X-Api-Version "2"
    rewrite "/v2{path}"
}
rule admin {
    when path ^= "/admin" and not client_ip in ["10.0.0.0/8", "2001:db8::/32"]
    respond 403 "Forbidden\n"
}
rule headers {
    response header set X-Frame-Options "DENY"
    response header remove Server
}
"#;

fn rule_set() -> &'static ServedRules {
    static RULES: OnceLock<ServedRules> = OnceLock::new();
    RULES.get_or_init(|| match compile_source(CONFIG_FILE, CONFIG.as_bytes()) {
        Ok(compiled) => compiled.rule_set.prepare(),
        Err(invalid) => panic!("the fuzz config does not compile:\n{}", invalid.render(false)),
    })
}

fuzz_target!(|data: &[u8]| {
    let suite = Suite::load(vec![TestSource {
        name: "fuzz.test".into(),
        bytes: data.to_vec(),
        too_large: None,
    }]);
    let run = suite::run(rule_set(), &suite);
    let _ = suite::render(&suite.faults, false);
    let _ = suite::render(&run.reports(&suite, rule_set()), false);
    let _ = run.counts();
});
