//! Idle HTTP/1.1 connections to the next hop, kept for reuse. A request takes
//! the most recently returned connection that is still open (last in, first
//! out, so a few connections stay warm and the rest age out), and a
//! connection comes back only once its response body has ended, so a taken
//! connection is never busy with another request.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::next_hop::Connection;

/// How often idle connections past their time are closed.
const REAP_EVERY: Duration = Duration::from_secs(5);

/// The idle connections of one next hop.
#[derive(Debug)]
pub(crate) struct Pool {
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
    idle_timeout: Duration,
}

#[derive(Debug)]
struct Idle {
    connection: Connection,
    since: Instant,
}

impl Pool {
    /// A pool keeping at most `max_idle` connections, each for at most
    /// `idle_timeout`; when a Tokio runtime is running, a task closes idle
    /// connections past their time even when no request comes.
    pub(crate) fn new(max_idle: usize, idle_timeout: Duration) -> Arc<Pool> {
        let pool = Arc::new(Pool {
            idle: Mutex::new(Vec::new()),
            max_idle,
            idle_timeout,
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(reap(Arc::downgrade(&pool)));
        }
        pool
    }

    /// The most recently returned connection that is still open and not
    /// past its idle time; older ones met on the way are closed.
    pub(crate) fn take(&self) -> Option<Connection> {
        let mut idle = self.lock();
        while let Some(entry) = idle.pop() {
            if entry.since.elapsed() < self.idle_timeout && entry.connection.is_reusable() {
                return Some(entry.connection);
            }
        }
        None
    }

    /// Gives a connection whose response has ended back for reuse; a full
    /// pool closes its oldest connection to make room.
    pub(crate) fn give_back(&self, connection: Connection) {
        if self.max_idle == 0 {
            return;
        }
        let mut idle = self.lock();
        if idle.len() >= self.max_idle {
            idle.remove(0);
        }
        idle.push(Idle {
            connection,
            since: Instant::now(),
        });
    }

    /// Closes idle connections that the next hop closed or that are past
    /// their idle time; returns how many are left.
    pub(crate) fn reap(&self) -> usize {
        let mut idle = self.lock();
        idle.retain(|entry| {
            entry.since.elapsed() < self.idle_timeout && entry.connection.is_reusable()
        });
        idle.len()
    }

    /// How many connections are idle now (for the tests).
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Idle>> {
        // The vector is consistent whatever a panicking holder did.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reaps the pool every few seconds for as long as it exists.
async fn reap(pool: Weak<Pool>) {
    let mut tick = tokio::time::interval(REAP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match pool.upgrade() {
            Some(pool) => {
                pool.reap();
            }
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A connection to a server that holds it open until `close` is sent
    /// (or answers it with a stray byte when asked to).
    async fn connected() -> (Connection, tokio::sync::oneshot::Sender<&'static [u8]>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<&'static [u8]>();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            match rx.await {
                Ok(b"") => return,
                Ok(bytes) => drop(stream.write_all(bytes).await),
                Err(_) => return,
            }
            let mut sink = [0u8; 16];
            let _ = stream.read(&mut sink).await;
        });
        let stream = TcpStream::connect(addr).await.expect("connect");
        (Connection::new(stream), tx)
    }

    #[tokio::test]
    async fn a_returned_connection_is_taken_again() {
        let pool = Pool::new(4, Duration::from_secs(30));
        let (connection, _server) = connected().await;
        pool.give_back(connection);
        assert_eq!(pool.idle(), 1);
        assert!(pool.take().is_some());
        assert_eq!(pool.idle(), 0);
        assert!(pool.take().is_none());
    }

    #[tokio::test]
    async fn closed_expired_and_chatty_connections_are_never_taken() {
        let pool = Pool::new(4, Duration::from_millis(50));
        let (connection, _server) = connected().await;
        pool.give_back(connection);
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(pool.take().is_none(), "past its idle time");

        for (unasked, what) in [
            (&b""[..], "closed by the next hop"),
            (b"x", "bytes nobody asked for"),
        ] {
            let pool = Pool::new(4, Duration::from_secs(30));
            let (connection, server) = connected().await;
            pool.give_back(connection);
            let _ = server.send(unasked);
            // Once the socket reports it, the pool drops the connection.
            for _ in 0..100 {
                if pool.reap() == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(pool.take().is_none(), "{what}");
        }
    }

    #[tokio::test]
    async fn a_full_pool_closes_its_oldest_connection() {
        let pool = Pool::new(2, Duration::from_secs(30));
        let mut servers = Vec::new();
        for _ in 0..3 {
            let (connection, server) = connected().await;
            servers.push(server);
            pool.give_back(connection);
        }
        assert_eq!(pool.idle(), 2);
        let none_kept = Pool::new(0, Duration::from_secs(30));
        let (connection, _server) = connected().await;
        none_kept.give_back(connection);
        assert_eq!(none_kept.idle(), 0);
    }
}
