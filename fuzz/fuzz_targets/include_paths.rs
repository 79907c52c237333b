//! Fuzzes includes and map-file paths: any bytes as a `proxy.conf` in a real
//! config directory (nested includes, an include cycle, a link that leads
//! out, a map file) through the loader, the path rules and the compiler, and
//! any pattern and name through the wildcard matcher: never a panic, a hang
//! or a read outside the directory.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use switchyard::config::files::{self, ConfigDir};
use switchyard::config::{CONFIG_FILE, compile_in};

/// A config directory built once per process.
fn dir() -> &'static ConfigDir {
    static DIR: OnceLock<ConfigDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("switchyard-fuzz-include-{}", std::process::id()));
        let conf = root.join("conf");
        let write = |path: PathBuf, text: &str| {
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(path, text);
        };
        write(root.join("secret.conf"), "rule secret { respond 500 }\n");
        write(conf.join("a.conf"), "rule a { respond 200 }\ninclude \"rules/*.conf\"\n");
        write(conf.join("rules/b.conf"), "rule b { when path in $m\n respond 200 \"{$m}\" }\n");
        write(conf.join("rules/c.conf"), "include \"cycle.conf\"\n");
        write(conf.join("cycle.conf"), "include \"rules/c.conf\"\n");
        write(conf.join("rules/.hidden.conf"), "rule hidden { respond 500 }\n");
        write(conf.join("m.csv"), "/a,/b\n\"/c,d\",/e\n");
        let _ = std::os::unix::fs::symlink(root.join("secret.conf"), conf.join("out.conf"));
        let _ = std::os::unix::fs::symlink("rules", conf.join("linked"));
        ConfigDir::new(&conf)
    })
}

fuzz_target!(|data: &[u8]| {
    match compile_in(CONFIG_FILE, data, Some(dir())) {
        Ok(compiled) => {
            assert!(
                compiled.rule_set.rules.iter().all(|rule| rule.name != "secret"),
                "a file outside the directory was read"
            );
            let _ = compiled.warnings.render(false);
        }
        Err(invalid) => {
            let _ = invalid.render(false);
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some((pattern, name)) = text.split_once('\n')
    {
        let _ = files::matches(pattern, name);
        let _ = files::check_relative(pattern);
        let _ = dir().glob(pattern);
    }
});
