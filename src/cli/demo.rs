//! `switchyard demo`: the proxy on 127.0.0.1:8080 in front of a built-in echo
//! origin, with an example proxy.conf and tests of it (`demo.test`), so a
//! person can try rules with curl and see their tests run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::ops::server::{self, ServeError, ServerOptions};
use crate::proxy::listener::ListenSpec;

/// The example configuration the demo serves.
const DEMO_CONF: &str = include_str!("demo.conf");

/// Tests of the example configuration, written beside it.
const DEMO_TEST: &str = include_str!("demo.test");

/// The name of the demo's test file in the config directory.
const DEMO_TEST_FILE: &str = "demo.test";

/// Arguments of `switchyard demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the proxy listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

/// Runs the demo until Ctrl-C.
pub fn run(args: DemoArgs) -> ExitCode {
    let base = std::env::temp_dir().join(format!("switchyard-demo-{}", std::process::id()));
    let dirs = Dirs {
        config: base.join("config"),
        log: base.join("log"),
        run: base.join("run"),
    };
    if let Err(err) = std::fs::create_dir_all(&dirs.config)
        .and_then(|()| std::fs::write(dirs.config.join(crate::config::CONFIG_FILE), DEMO_CONF))
        .and_then(|()| std::fs::write(dirs.config.join(DEMO_TEST_FILE), DEMO_TEST))
    {
        eprintln!(
            "switchyard demo: cannot write {}: {err}",
            dirs.config.display()
        );
        return ExitCode::from(2);
    }
    let origin = match start_origin() {
        Ok(origin) => origin,
        Err(err) => {
            eprintln!("switchyard demo: cannot start the echo origin: {err}");
            return ExitCode::from(2);
        }
    };
    print_guide(args.listen, origin, &dirs);
    let result = server::run(ServerOptions {
        listen: ListenSpec::Addresses(vec![args.listen]),
        upstream: origin.to_string(),
        config_dir: dirs.config,
        log_dir: dirs.log,
        run_dir: dirs.run,
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(ServeError::InvalidConfig) => ExitCode::from(1),
        Err(err) => {
            eprintln!("switchyard demo: {err}");
            ExitCode::from(2)
        }
    }
}

struct Dirs {
    config: PathBuf,
    log: PathBuf,
    run: PathBuf,
}

fn print_guide(listen: SocketAddr, origin: SocketAddr, dirs: &Dirs) {
    let at = format!("http://{listen}");
    println!("switchyard demo: proxy on {at}, echo origin on {origin}");
    println!(
        "config: {}",
        dirs.config.join(crate::config::CONFIG_FILE).display()
    );
    println!("tests:  {}", dirs.config.join(DEMO_TEST_FILE).display());
    println!("logs:   {}", dirs.log.display());
    println!();
    println!("Try:");
    println!(
        "  curl -i {at}/hello                      # forwarded; the origin echoes the request"
    );
    println!(
        "  curl -i {at}/blog/2024/hello-world      # redirect 308 to /articles/2024/hello-world"
    );
    println!(
        "  curl -i {at}/api/users?page=2           # rewritten to /v2/api/users, X-Api-Version: 2 added"
    );
    println!("  curl -i {at}/admin                      # answered 403 by a rule");
    println!("  curl -i {at}/secure/page                # redirect 301 to https");
    println!("  curl -i -H 'X-Forwarded-Proto: https' {at}/secure/page   # forwarded");
    println!("  tail -f {}", dirs.log.join("access.log").display());
    println!();
    println!("Run the tests of the rules (edit proxy.conf, then run them again):");
    println!("  {}", test_command(&dirs.config));
    println!();
    println!("Ctrl-C stops it.");
}

/// The command line that runs the demo's tests with this very binary.
fn test_command(config: &std::path::Path) -> String {
    let binary = std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| "switchyard".to_owned());
    format!("{binary} test {}", config.display())
}

/// Starts the echo origin on a loopback port on its own thread.
fn start_origin() -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("demo-origin".into())
        .spawn(move || runtime.block_on(serve_origin(listener)))?;
    Ok(address)
}

async fn serve_origin(listener: std::net::TcpListener) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(echo))
                .await;
        });
    }
}

/// Answers with the request it received, as text.
async fn echo(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut text = format!(
        "{} {} {:?}\n",
        request.method(),
        request.uri(),
        request.version()
    );
    for (name, value) in request.headers() {
        text.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push('\n');
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    text.push_str(&String::from_utf8_lossy(&body));
    let mut response = Response::new(Full::new(Bytes::from(text)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{self, Suite, TestSource};

    #[test]
    fn the_demo_tests_pass_and_make_every_rule_fire() {
        let compiled =
            crate::config::compile_source(crate::config::CONFIG_FILE, DEMO_CONF.as_bytes())
                .map_err(|invalid| invalid.render(false));
        let Ok(compiled) = compiled else {
            panic!("demo.conf does not compile: {compiled:?}");
        };
        let suite = Suite::load(vec![TestSource {
            name: DEMO_TEST_FILE.into(),
            bytes: DEMO_TEST.as_bytes().to_vec(),
            too_large: None,
        }]);
        assert!(
            suite.faults.is_empty(),
            "{}",
            suite::render(&suite.faults, false)
        );
        let run = suite::run(&compiled.rule_set, &suite);
        let reports = run.reports(&suite, &compiled.rule_set);
        assert!(reports.is_empty(), "{}", suite::render(&reports, false));
        assert_eq!(run.counts(), (8, 0));
        assert!(run.unfired.is_empty(), "{:?}", run.unfired);
    }
}
