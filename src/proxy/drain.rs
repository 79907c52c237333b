//! Waiting for connections to finish at shutdown: every connection (and every
//! upgraded tunnel) holds a token; the drain completes when all are dropped.

use std::time::Duration;

use tokio::sync::mpsc;

/// Held while a connection or tunnel is open.
#[derive(Debug, Clone)]
pub struct DrainToken(#[allow(dead_code)] mpsc::Sender<()>);

/// The waiting side.
#[derive(Debug)]
pub struct Drain {
    token: DrainToken,
    done: mpsc::Receiver<()>,
}

impl Default for Drain {
    fn default() -> Self {
        Self::new()
    }
}

impl Drain {
    /// A drain with no token handed out yet.
    pub fn new() -> Self {
        let (tx, done) = mpsc::channel(1);
        Drain {
            token: DrainToken(tx),
            done,
        }
    }

    /// A token for one more connection or tunnel.
    pub fn token(&self) -> DrainToken {
        self.token.clone()
    }

    /// Waits until every token is dropped or `grace` has passed; returns
    /// whether everything finished in time.
    pub(crate) async fn wait(self, grace: Duration) -> bool {
        let Drain { token, mut done } = self;
        drop(token);
        tokio::time::timeout(grace, done.recv()).await.is_ok()
    }
}

/// Resolves once shutdown has been requested (or its sender is gone).
pub(crate) async fn stopping(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn completes_when_tokens_are_dropped() {
        let drain = Drain::new();
        let token = drain.token();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            drop(token);
        });
        assert!(drain.wait(Duration::from_secs(30)).await);
    }

    #[tokio::test]
    async fn gives_up_after_grace() {
        let drain = Drain::new();
        let _held = drain.token();
        assert!(!drain.wait(Duration::from_millis(10)).await);
    }
}
