//! The HTTP side of a connection, before WebSocket frames: read one bounded request head, then either
//! answer it (health, liveness, 404, 400) or complete the RFC 6455 upgrade. Done by hand rather than by
//! tungstenite's handshake so plain HTTP probes get real answers on the AudioHook port.

use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Largest request head accepted (Genesys' upgrade carries a few hundred bytes of signature).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
/// A client that has not sent its whole head by then is dropped.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// One parsed request head and whatever bytes followed it.
#[derive(Debug)]
pub struct Head {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub rest: Vec<u8>,
}

impl Head {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A WebSocket upgrade (`Upgrade: websocket`), as opposed to a plain HTTP probe.
    pub fn is_upgrade(&self) -> bool {
        self.header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    #[error("connection closed before a full request head")]
    Closed,
    #[error("request head too large")]
    TooLarge,
    #[error("malformed request head")]
    Malformed,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads until the blank line that ends the head.
pub async fn read_head(stream: &mut TcpStream) -> Result<Head, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(head) = parse_head(&buf)? {
            return Ok(head);
        }
    }
}

/// The head at the start of `buf` once it is all there (`Ok(None)`: not yet, read more), with the bytes after
/// it. Apart from the socket so the bytes a client may send are tested without one.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        // The bound is on the head itself, so it holds however the client's bytes were split into reads.
        Ok(httparse::Status::Complete(len)) if len > MAX_HEAD_BYTES => Err(HeadError::TooLarge),
        Ok(httparse::Status::Complete(len)) => Ok(Some(Head {
            method: req.method.unwrap_or_default().to_string(),
            target: req.path.unwrap_or_default().to_string(),
            headers: req
                .headers
                .iter()
                .map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned()))
                .collect(),
            rest: buf[len..].to_vec(),
        })),
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => Ok(None),
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooLarge),
        Err(_) => Err(HeadError::Malformed),
    }
}

/// Writes a JSON response, with `extra` headers, and shuts down the writing side.
pub async fn respond(
    stream: &mut TcpStream,
    status: u16,
    reason: &str,
    extra: &[(&str, &str)],
    body: &Value,
) -> std::io::Result<()> {
    respond_with(stream, status, reason, extra, "application/json", &body.to_string()).await
}

/// Writes a response of `content_type`, with `extra` headers, and shuts down the writing side.
pub async fn respond_with(
    stream: &mut TcpStream,
    status: u16,
    reason: &str,
    extra: &[(&str, &str)],
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let extra: String = extra.iter().map(|(name, value)| format!("{name}: {value}\r\n")).collect();
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// The `101 Switching Protocols` answer, or why the head is not a valid WebSocket upgrade.
pub fn accept(head: &Head) -> Result<String, &'static str> {
    if head.method != "GET" {
        return Err("WebSocket upgrades must use GET");
    }
    if head.header("sec-websocket-version").map(str::trim) != Some("13") {
        return Err("Sec-WebSocket-Version must be 13");
    }
    let key = head
        .header("sec-websocket-key")
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or("Sec-WebSocket-Key is missing")?;
    Ok(format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A complete head of `len` bytes (one long header fills it).
    fn head_of(len: usize) -> Vec<u8> {
        let start = "GET /audiohook/ws HTTP/1.1\r\nHost: h\r\nX-Fill: ";
        let fill = len - start.len() - 4;
        format!("{start}{}\r\n\r\n", "a".repeat(fill)).into_bytes()
    }

    /// Found by fuzzing (`audiohook_head_over_a_socket`): whether a head past [`MAX_HEAD_BYTES`] was taken
    /// depended on how the client's bytes happened to arrive (whole in the last read: taken; split after the
    /// bound: refused). The bound now holds for the head itself, however it arrives.
    #[tokio::test]
    async fn a_head_past_the_bound_is_refused_however_it_arrives() {
        let socket = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let head = head_of(MAX_HEAD_BYTES + 600);
        let client = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            // Just under the bound first, so the server has asked for more before the head completes.
            let (first, last) = head.split_at(MAX_HEAD_BYTES - 100);
            s.write_all(first).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            s.write_all(last).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        });
        let (mut server, _) = socket.accept().await.unwrap();
        let read = read_head(&mut server).await;
        assert!(matches!(read, Err(HeadError::TooLarge)), "{read:?}");
        client.await.unwrap();
        assert!(matches!(parse_head(&head_of(MAX_HEAD_BYTES + 1)), Err(HeadError::TooLarge)));
        assert!(parse_head(&head_of(MAX_HEAD_BYTES)).unwrap().is_some());
    }
}
