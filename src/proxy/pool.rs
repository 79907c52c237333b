//! Idle HTTP/1.1 connections to the next hop, kept for reuse. A request takes
//! the most recently returned connection that is still open (last in, first
//! out, so a few connections stay warm and the rest age out), and a
//! connection comes back only once its response body has ended, so a taken
//! connection is never busy with another request.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use hyper::client::conn::http1::SendRequest;

use super::upstream::UpstreamBody;

/// The sending half of one connection to the next hop.
pub(crate) type Sender = SendRequest<UpstreamBody>;

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
    sender: Sender,
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
    pub(crate) fn take(&self) -> Option<Sender> {
        let mut idle = self.lock();
        while let Some(entry) = idle.pop() {
            if !entry.sender.is_closed() && entry.since.elapsed() < self.idle_timeout {
                return Some(entry.sender);
            }
        }
        None
    }

    /// Gives a connection whose response has ended back for reuse; a full
    /// pool closes its oldest connection to make room.
    pub(crate) fn give_back(&self, sender: Sender) {
        if sender.is_closed() || self.max_idle == 0 {
            return;
        }
        let mut idle = self.lock();
        if idle.len() >= self.max_idle {
            idle.remove(0);
        }
        idle.push(Idle {
            sender,
            since: Instant::now(),
        });
    }

    /// Closes idle connections that the next hop closed or that are past
    /// their idle time; returns how many are left.
    pub(crate) fn reap(&self) -> usize {
        let mut idle = self.lock();
        idle.retain(|entry| !entry.sender.is_closed() && entry.since.elapsed() < self.idle_timeout);
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

/// A connection lent to one request, given back to its pool when the
/// response body has been read to its end (else dropped, which closes it).
#[derive(Debug)]
pub(crate) struct Lent {
    pool: Arc<Pool>,
    sender: Sender,
}

impl Lent {
    /// Lends `sender` of `pool` to a request.
    pub(crate) fn new(pool: Arc<Pool>, sender: Sender) -> Self {
        Lent { pool, sender }
    }

    /// The response was read to its end: the connection is free again.
    pub(crate) fn give_back(self) {
        self.pool.give_back(self.sender);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{Either, Empty};
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A sender on a real connection to a server that answers every request
    /// with an empty 200 until the peer closes.
    async fn connected() -> (Sender, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                if stream.write_all(answer).await.is_err() {
                    break;
                }
            }
        });
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        (sender, server)
    }

    fn get() -> http::Request<UpstreamBody> {
        http::Request::get("/")
            .body(Either::Right(Empty::<Bytes>::new()))
            .expect("request")
    }

    #[tokio::test]
    async fn a_returned_connection_is_taken_again_and_serves() {
        let pool = Pool::new(4, Duration::from_secs(30));
        let (mut sender, _server) = connected().await;
        let response = sender.send_request(get()).await.expect("first");
        assert_eq!(response.status(), 200);
        drop(response);
        pool.give_back(sender);
        assert_eq!(pool.idle(), 1);
        let mut again = pool.take().expect("pooled");
        assert_eq!(pool.idle(), 0);
        again.ready().await.expect("ready");
        let response = again.send_request(get()).await.expect("second");
        assert_eq!(response.status(), 200);
    }

    #[tokio::test]
    async fn closed_and_expired_connections_are_never_taken() {
        let pool = Pool::new(4, Duration::from_millis(50));
        let (sender, server) = connected().await;
        pool.give_back(sender);
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(pool.take().is_none(), "past its idle time");

        let pool = Pool::new(4, Duration::from_secs(30));
        let (sender, server_b) = connected().await;
        pool.give_back(sender);
        server_b.abort();
        let _ = server_b.await;
        // The connection task notices the close; the pool then drops it.
        for _ in 0..100 {
            if pool.reap() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(pool.take().is_none(), "closed by the next hop");
        server.abort();
    }

    #[tokio::test]
    async fn a_full_pool_closes_its_oldest_connection() {
        let pool = Pool::new(2, Duration::from_secs(30));
        let mut servers = Vec::new();
        for _ in 0..3 {
            let (sender, server) = connected().await;
            servers.push(server);
            pool.give_back(sender);
        }
        assert_eq!(pool.idle(), 2);
        let none_kept = Pool::new(0, Duration::from_secs(30));
        let (sender, _server) = connected().await;
        none_kept.give_back(sender);
        assert_eq!(none_kept.idle(), 0);
    }
}
